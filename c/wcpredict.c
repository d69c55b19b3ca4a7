/*
 * wcpredict: predictions of a widecross model for the rows of a CSV file.
 *
 *     wcpredict MODEL.wcm < rows.csv > predictions.csv
 *
 * The CSV's header names the columns; the model's feature spec says which ones it needs (any
 * others are ignored). One prediction per row is written: P(class 1) for a logistic model,
 * exp(margin) for poisson, the margin for squared and hinge. Exit status: 0 success, 1 a model
 * or data error (one line on stderr naming the file, the row and the column), 2 a usage error.
 * See c/README.md for the value rules (empty fields, integers and text in categorical columns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "widecross.h"

#define MAX_RECORD_BYTES ((size_t)64 << 20)
#define MAX_FIELDS ((size_t)1 << 20)

static const char USAGE[] = "usage: wcpredict [options] MODEL.wcm [ROWS.csv]\n"
                            "Predict every row of a CSV file (standard input when ROWS.csv is absent or '-').\n"
                            "  --margin          write the margin (intercept + x.w) before the prediction\n"
                            "  --string COLUMN   read COLUMN's values as text, never as integers (repeatable)\n"
                            "  --delimiter C     field separator: one character, or 'tab' (default ',')\n"
                            "  --features        write each row's active columns as id:value pairs instead\n"
                            "  --info            describe the model and its columns, then exit\n"
                            "  -h, --help        this text\n"
                            "Exit status: 0 success, 1 model or data error, 2 usage error.\n";

/* ----------------------------------------------------------------------- CSV records */

typedef struct {
    FILE *file;
    const char *name;
    char delimiter;
    unsigned char buf[1 << 16];
    size_t len, pos;
    int at_eof;
    char *text; /* the record's fields, unquoted, back to back */
    size_t text_len, text_cap;
    size_t *start, *length; /* per field */
    size_t n_fields, cap_fields;
    unsigned long long line, record_line;
} csv_reader;

static int csv_getc(csv_reader *r)
{
    if (r->pos == r->len) {
        if (r->at_eof) return EOF;
        r->len = fread(r->buf, 1, sizeof r->buf, r->file);
        r->pos = 0;
        if (r->len == 0) {
            r->at_eof = 1;
            return EOF;
        }
    }
    return r->buf[r->pos++];
}

static int csv_peek(csv_reader *r)
{
    int c = csv_getc(r);
    if (c != EOF) r->pos--;
    return c;
}

static int csv_append(csv_reader *r, char c)
{
    if (r->text_len == r->text_cap) {
        size_t cap = r->text_cap ? 2 * r->text_cap : 4096;
        char *grown;
        if (cap > MAX_RECORD_BYTES) return 0;
        grown = (char *)realloc(r->text, cap);
        if (!grown) return 0;
        r->text = grown;
        r->text_cap = cap;
    }
    r->text[r->text_len++] = c;
    return 1;
}

static int csv_end_field(csv_reader *r, size_t start)
{
    if (r->n_fields == r->cap_fields) {
        size_t cap = r->cap_fields ? 2 * r->cap_fields : 64;
        if (cap > MAX_FIELDS) return 0;
        size_t *s = (size_t *)realloc(r->start, cap * sizeof *s), *l;
        if (!s) return 0;
        r->start = s;
        l = (size_t *)realloc(r->length, cap * sizeof *l);
        if (!l) return 0;
        r->length = l;
        r->cap_fields = cap;
    }
    r->start[r->n_fields] = start;
    r->length[r->n_fields++] = r->text_len - start;
    return 1;
}

/* The next record: 1, or 0 at the end of the input, or -1 with a message in err. */
static int csv_next(csv_reader *r, char *err, size_t err_size)
{
    for (;;) {
        int c = csv_getc(r), blank = 1;
        size_t start = 0;
        if (c == EOF) return 0;
        r->text_len = 0;
        r->n_fields = 0;
        r->record_line = ++r->line;
        for (;;) { /* one field per iteration */
            start = r->text_len;
            if (c == '"') {
                blank = 0;
                for (;;) {
                    c = csv_getc(r);
                    if (c == EOF) {
                        snprintf(err, err_size, "line %llu: a quoted field is not closed", r->record_line);
                        return -1;
                    }
                    if (c == '"') {
                        if (csv_peek(r) != '"') break;
                        csv_getc(r);
                    }
                    if (c == '\n') r->line++;
                    if (!csv_append(r, (char)c)) goto too_long;
                }
                c = csv_getc(r);
                if (c != EOF && c != r->delimiter && c != '\n' && c != '\r') {
                    snprintf(err, err_size, "line %llu: text follows a closing quote", r->line);
                    return -1;
                }
            } else {
                while (c != EOF && c != r->delimiter && c != '\n' && c != '\r') {
                    blank = 0;
                    if (!csv_append(r, (char)c)) goto too_long;
                    c = csv_getc(r);
                }
            }
            if (!csv_end_field(r, start)) goto too_long;
            if (c == r->delimiter) {
                blank = 0;
                c = csv_getc(r);
                continue;
            }
            if (c == '\r' && csv_peek(r) == '\n') csv_getc(r);
            break;
        }
        if (!blank) return 1; /* empty lines are skipped */
    }
too_long:
    snprintf(err, err_size, "line %llu: the record is longer than %lu bytes or %lu fields (or memory ran out)",
             r->record_line, (unsigned long)MAX_RECORD_BYTES, (unsigned long)MAX_FIELDS);
    return -1;
}

/* ----------------------------------------------------------------------- values */

static int parse_int64(const char *s, size_t n, int64_t *out)
{
    size_t k = 0;
    int negative = 0;
    uint64_t v = 0, limit;
    if (n && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        k = 1;
    }
    if (k == n) return 0;
    limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; k < n; k++) {
        unsigned d = (unsigned char)s[k] - '0';
        if (d > 9 || v > (limit - d) / 10u) return 0;
        v = v * 10u + d;
    }
    *out = negative ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 1;
}

/* A field as the value of a column with these flags (c/README.md, "Values"). */
static int typed_value(const char *s, size_t n, unsigned flags, int as_text, wc_value *v)
{
    memset(v, 0, sizeof *v);
    if (n == 0) {
        v->kind = WC_MISSING;
        return 1;
    }
    if (flags & WC_COLUMN_CATEGORICAL) {
        if (!as_text && !(flags & WC_COLUMN_TEXT)) {
            if (parse_int64(s, n, &v->integer)) {
                v->kind = WC_INTEGER;
                return 1;
            }
            if ((flags & WC_COLUMN_NUMERIC) && wc_parse_number(s, n, &v->number)) {
                v->kind = WC_NUMBER;
                return 1;
            }
        }
        v->kind = WC_TEXT;
        v->text = s;
        v->length = n;
        return 1;
    }
    v->kind = WC_NUMBER;
    if (wc_parse_number(s, n, &v->number)) return 1;
    while (n && (*s == ' ' || *s == '\t')) { /* blanks only: missing, like an empty field */
        s++;
        n--;
    }
    if (n == 0) {
        v->kind = WC_MISSING;
        return 1;
    }
    return 0;
}

/* ----------------------------------------------------------------------- the program */

typedef struct {
    const char *model_path, *rows_path;
    int margin, features, info;
    char delimiter;
    const char **text_columns;
    size_t n_text_columns;
} options;

static int usage_error(const char *message)
{
    fprintf(stderr, "wcpredict: %s\n%s", message, USAGE);
    return 2;
}

static int parse_options(int argc, char **argv, options *o)
{
    int k;
    memset(o, 0, sizeof *o);
    o->delimiter = ',';
    o->text_columns = (const char **)calloc((size_t)argc, sizeof(char *));
    if (!o->text_columns) return usage_error("out of memory");
    for (k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            return -1;
        } else if (strcmp(a, "--margin") == 0) {
            o->margin = 1;
        } else if (strcmp(a, "--features") == 0) {
            o->features = 1;
        } else if (strcmp(a, "--info") == 0) {
            o->info = 1;
        } else if (strcmp(a, "--string") == 0 || strcmp(a, "--delimiter") == 0) {
            if (k + 1 == argc) return usage_error("an option lacks its value");
            if (a[2] == 's') {
                o->text_columns[o->n_text_columns++] = argv[++k];
            } else {
                const char *d = argv[++k];
                if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0)
                    o->delimiter = '\t';
                else if (strlen(d) == 1 && d[0] != '"' && d[0] != '\n' && d[0] != '\r')
                    o->delimiter = d[0];
                else
                    return usage_error("--delimiter takes one character (not a quote or newline) or 'tab'");
            }
        } else if (a[0] == '-' && a[1] == '-') {
            return usage_error("unknown option");
        } else if (!o->model_path) {
            o->model_path = a;
        } else if (!o->rows_path) {
            o->rows_path = a;
        } else {
            return usage_error("too many arguments");
        }
    }
    if (!o->model_path) return usage_error("the model file is missing");
    return 0;
}

static int describe(const wc_model *m)
{
    size_t j;
    printf("loss: %s\nn_features: %llu\nnnz: %llu\nintercept: %.17g\nmemory_bytes: %lu\ncolumns:", wc_loss(m),
           (unsigned long long)wc_n_features(m), (unsigned long long)wc_nnz(m), wc_intercept(m),
           (unsigned long)wc_memory_bytes(m));
    for (j = 0; j < wc_n_columns(m); j++) {
        size_t len;
        const char *name = wc_column_name(m, j, &len);
        unsigned flags = wc_column_flags(m, j);
        printf(" %.*s(%s%s%s)", (int)len, name, flags & WC_COLUMN_NUMERIC ? "numeric" : "",
               (flags & WC_COLUMN_NUMERIC) && (flags & WC_COLUMN_CATEGORICAL) ? "," : "",
               flags & WC_COLUMN_TEXT          ? "text"
               : flags & WC_COLUMN_CATEGORICAL ? "categorical"
                                               : "");
    }
    printf("\n");
    return 0;
}

/* Map every model column to its field in the header (exact, byte for byte). */
static int map_columns(const wc_model *m, const csv_reader *r, const options *o, size_t *field, int *as_text)
{
    size_t j, k;
    int missing = 0;
    for (j = 0; j < wc_n_columns(m); j++) {
        size_t len, found = (size_t)-1;
        const char *name = wc_column_name(m, j, &len);
        for (k = 0; k < r->n_fields; k++) {
            if (r->length[k] != len || memcmp(r->text + r->start[k], name, len) != 0) continue;
            if (found != (size_t)-1) {
                fprintf(stderr, "wcpredict: %s: the header names column '%.*s' twice\n", r->name, (int)len, name);
                return 1;
            }
            found = k;
        }
        if (found == (size_t)-1) {
            fprintf(stderr, "%s '%.*s'",
                    missing ? "," : "wcpredict: the header lacks column(s) needed by the model:", (int)len, name);
            missing = 1;
        }
        field[j] = found;
        as_text[j] = 0;
        for (k = 0; k < o->n_text_columns; k++)
            if (strlen(o->text_columns[k]) == len && memcmp(o->text_columns[k], name, len) == 0) as_text[j] = 1;
    }
    if (missing) fprintf(stderr, " (file %s)\n", r->name);
    return missing;
}

static int write_row(const wc_model *m, const options *o, const wc_value *row, uint64_t *cols, float *vals, char *err,
                     size_t err_size)
{
    double margin, prediction;
    size_t n, k;
    int rc;
    if (o->features) {
        rc = wc_featurize(m, row, cols, vals, &n, err, err_size);
        if (rc != WC_OK) return rc;
        for (k = 0; k < n; k++) printf(k ? " %llu:%g" : "%llu:%g", (unsigned long long)cols[k], (double)vals[k]);
        putchar('\n');
        return WC_OK;
    }
    rc = wc_predict(m, row, &margin, &prediction, err, err_size);
    if (rc != WC_OK) return rc;
    if (o->margin)
        printf("%.17g,%.17g\n", margin, prediction);
    else
        printf("%.17g\n", prediction);
    return WC_OK;
}

static int predict_rows(const wc_model *m, csv_reader *r, const options *o)
{
    size_t nc = wc_n_columns(m), j;
    size_t *field = (size_t *)calloc(nc + 1, sizeof *field);
    int *as_text = (int *)calloc(nc + 1, sizeof *as_text);
    wc_value *row = (wc_value *)calloc(nc + 1, sizeof *row);
    uint64_t *cols = (uint64_t *)calloc(wc_max_active(m) + 1, sizeof *cols);
    float *vals = (float *)calloc(wc_max_active(m) + 1, sizeof *vals);
    char err[512];
    unsigned long long n_rows = 0;
    int status = 1, got;
    if (!field || !as_text || !row || !cols || !vals) {
        fprintf(stderr, "wcpredict: out of memory\n");
        goto done;
    }
    got = csv_next(r, err, sizeof err);
    if (got <= 0) {
        fprintf(stderr, "wcpredict: %s: %s\n", r->name, got < 0 ? err : "no header line");
        goto done;
    }
    if (r->n_fields && r->length[0] >= 3 && memcmp(r->text + r->start[0], "\xef\xbb\xbf", 3) == 0) {
        r->start[0] += 3; /* a UTF-8 byte order mark */
        r->length[0] -= 3;
    }
    if (map_columns(m, r, o, field, as_text) != 0) goto done;
    if (!o->features) printf(o->margin ? "margin,%s\n" : "%s\n", wc_loss(m)[0] == 'l' ? "probability" : "prediction");
    for (;;) {
        size_t header_fields = r->n_fields;
        got = csv_next(r, err, sizeof err);
        if (got == 0) break;
        if (got < 0) {
            fprintf(stderr, "wcpredict: %s: %s\n", r->name, err);
            goto done;
        }
        if (r->n_fields != header_fields) {
            fprintf(stderr, "wcpredict: %s: row %llu (line %llu): %lu fields where the header has %lu\n", r->name,
                    n_rows, r->record_line, (unsigned long)r->n_fields, (unsigned long)header_fields);
            goto done;
        }
        for (j = 0; j < nc; j++) {
            size_t len;
            const char *name = wc_column_name(m, j, &len);
            if (!typed_value(r->text + r->start[field[j]], r->length[field[j]], wc_column_flags(m, j), as_text[j],
                             &row[j])) {
                fprintf(stderr, "wcpredict: %s: row %llu (line %llu): column '%.*s': '%.*s' is not a number\n", r->name,
                        n_rows, r->record_line, (int)len, name,
                        (int)(r->length[field[j]] > 80 ? 80 : r->length[field[j]]), r->text + r->start[field[j]]);
                goto done;
            }
        }
        if (write_row(m, o, row, cols, vals, err, sizeof err) != WC_OK) {
            fprintf(stderr, "wcpredict: %s: row %llu (line %llu): %s\n", r->name, n_rows, r->record_line, err);
            goto done;
        }
        n_rows++;
    }
    status = 0;
done:
    free(field);
    free(as_text);
    free(row);
    free(cols);
    free(vals);
    return status;
}

static int run(const options *o);

int main(int argc, char **argv)
{
    options o;
    int status = parse_options(argc, argv, &o);
    if (status == 0) status = run(&o);
    free(o.text_columns);
    return status < 0 ? 0 : status; /* -1: the help was asked for and printed */
}

static int predict_file(const wc_model *m, const options *o);

static int run(const options *o)
{
    wc_model *m = NULL;
    char err[512];
    int status;
    if (wc_load_file(o->model_path, &m, err, sizeof err) != WC_OK) {
        fprintf(stderr, "wcpredict: %s\n", err);
        return 1;
    }
    if (o->info) {
        status = describe(m);
    } else if (!wc_has_spec(m)) {
        fprintf(stderr, "wcpredict: %s: the model has no feature spec, so it cannot read raw columns\n", o->model_path);
        status = 1;
    } else {
        status = predict_file(m, o);
    }
    wc_free(m);
    return status;
}

static int predict_file(const wc_model *m, const options *o)
{
    csv_reader *r = (csv_reader *)calloc(1, sizeof *r);
    int status;
    if (!r) {
        fprintf(stderr, "wcpredict: out of memory\n");
        return 1;
    }
    r->delimiter = o->delimiter;
    r->name = o->rows_path && strcmp(o->rows_path, "-") != 0 ? o->rows_path : "<stdin>";
    r->file = o->rows_path && strcmp(o->rows_path, "-") != 0 ? fopen(o->rows_path, "rb") : stdin;
    if (!r->file) {
        fprintf(stderr, "wcpredict: %s: cannot open the file\n", o->rows_path);
        status = 1;
    } else {
        static char out_buf[1 << 16];
        setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
        status = predict_rows(m, r, o);
        if (ferror(r->file)) {
            fprintf(stderr, "wcpredict: %s: read error\n", r->name);
            status = 1;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "wcpredict: cannot write the predictions\n");
            status = 1;
        }
        if (r->file != stdin) fclose(r->file);
    }
    free(r->text);
    free(r->start);
    free(r->length);
    free(r);
    return status;
}
