/*
 * widecross.c: prediction from raw columns (the featurizer of docs/format.md, "Featurizing a
 * row") and the model's facts. A dependency-free reader of widecross model files (format
 * version 1) in C99 with libc and libm: wc_load.c reads the file, wc_decode.c its sections,
 * wc_json.c its metadata, wc_spec.c the feature spec.
 *
 * Safety rules kept throughout: every length is checked against the bytes actually present
 * before it is used, no allocation is sized by a field that has not been checked against the
 * file, every decoder bounds-checks its reads and stops at the first inconsistency.
 */
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_internal.h"

/* ----------------------------------------------------------------------- small helpers */

int wci_report(char *err, size_t err_size, int code, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A printable, quoted, shortened copy of bytes for messages: 'abc', \xNN for control bytes. */
const char *wci_quoted(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i;
    if (cap < 16) return "";
    buf[o++] = '\'';
    for (i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') {
            o += (size_t)sprintf(buf + o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

void *wci_alloc(wc_model *m, size_t count, size_t size)
{
    void *p;
    if (count == 0) count = 1;
    if (count > SIZE_MAX / size) return NULL;
    p = calloc(count, size);
    if (p) m->bytes += count * size;
    return p;
}

/* ----------------------------------------------------------------------- prediction */

typedef struct {
    const wc_value *values; /* wc_predict */
    const double *numbers;  /* wc_predict_numbers */
} row_input;

static int input_fail(const component *c, char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        char q[96];
        size_t used;
        va_list ap;
        snprintf(err, err_size, "column %s: ", wci_quoted(q, sizeof q, c->column_name, c->column_name_len));
        used = strlen(err);
        va_start(ap, fmt);
        vsnprintf(err + used, err_size - used, fmt, ap);
        va_end(ap);
    }
    return WC_ERR_INPUT;
}

static int numeric_input(const component *c, row_input r, double *x, char *err, size_t err_size)
{
    const wc_value *v;
    char q[96];
    if (r.numbers) {
        *x = r.numbers[c->column];
        return WC_OK;
    }
    v = &r.values[c->column];
    switch (v->kind) {
    case WC_MISSING: *x = NAN; return WC_OK;
    case WC_NUMBER: *x = v->number; return WC_OK;
    case WC_INTEGER: *x = (double)v->integer; return WC_OK;
    case WC_TEXT:
        return input_fail(c, err, err_size, "must be numeric (integer or floating point); got text %s",
                          wci_quoted(q, sizeof q, v->text ? v->text : "", v->text ? v->length : 0));
    default: return input_fail(c, err, err_size, "unknown wc_value kind %d", v->kind);
    }
}

/* Bucket id of x, or -1 when the out_of_range policy rejects it (docs/format.md, "Bucketize"). */
static int64_t bucket_of(const component *c, double x)
{
    if (x >= c->start && x <= c->stop) { /* NaN fails both */
        int64_t b;
        if (c->kind == COMP_UNIFORM) {
            /* each step rounded to double, also where the FPU keeps excess precision */
            double offset = x - c->start;
            double t = offset * c->scale;
            t = floor(t);
            b = t < (double)c->n_buckets ? (int64_t)t : c->n_buckets - 1; /* x == stop, or rounding up */
        } else {
            int64_t lo = 0, hi = c->n_buckets;
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (c->edges[mid] <= x)
                    lo = mid;
                else
                    hi = mid;
            }
            b = lo;
        }
        if (c->wrap && x == c->stop) b = 0; /* periodic: stop is start */
        return b;
    }
    if (c->policy == POLICY_CLIP && x == x) return (c->wrap || x < c->start) ? 0 : c->n_buckets - 1;
    if (c->policy == POLICY_BUCKET) return c->n_buckets;
    return -1;
}

static int bucket_input(const component *c, row_input r, int64_t *id, char *err, size_t err_size)
{
    double x = 0.0;
    int rc = numeric_input(c, r, &x, err, err_size);
    char q[96];
    if (rc != WC_OK) return rc;
    *id = bucket_of(c, x);
    if (*id >= 0) return WC_OK;
    if (c->policy == POLICY_CLIP)
        return input_fail(c, err, err_size,
                          "NaN value for feature %s; clipping cannot place NaN; use out_of_range='bucket' to give "
                          "them their own bucket",
                          wci_quoted(q, sizeof q, c->name, c->name_len));
    return input_fail(c, err, err_size,
                      "value %.17g outside [%.10g, %.10g] (or NaN/inf) for feature %s; pass out_of_range='clip' or "
                      "'bucket' to accept them",
                      x, c->start, c->stop, wci_quoted(q, sizeof q, c->name, c->name_len));
}

static const vocab_entry *vocab_find(const component *c, int type, int64_t integer, const char *text, size_t length)
{
    uint64_t hash = type == VOCAB_INT ? mix64((uint64_t)integer) : fnv1a64(text, length);
    const vocab_entry *e = wci_vocab_slot(c, hash, type, integer, text, length);
    return e->type == VOCAB_EMPTY ? NULL : e;
}

static int category_input(const component *c, row_input r, int64_t *id, char *err, size_t err_size)
{
    int missing = 0, is_text = 0;
    int64_t integer = 0;
    const char *text = NULL;
    size_t length = 0;
    char q[96], shown[128];
    if (r.numbers) {
        if (!isnan(r.numbers[c->column]))
            return input_fail(c, err, err_size,
                              "a categorical column holds the floating point value %.17g; pass "
                              "integers or text",
                              r.numbers[c->column]);
        missing = 1;
    } else {
        const wc_value *v = &r.values[c->column];
        switch (v->kind) {
        case WC_MISSING: missing = 1; break;
        case WC_NUMBER:
            if (!isnan(v->number))
                return input_fail(c, err, err_size,
                                  "a categorical column holds the floating point value %.17g; "
                                  "pass integers or text",
                                  v->number);
            missing = 1;
            break;
        case WC_INTEGER: integer = v->integer; break;
        case WC_TEXT:
            is_text = 1;
            text = v->text ? v->text : "";
            length = v->text ? v->length : 0;
            if (!wci_utf8_valid((const unsigned char *)text, length))
                return input_fail(c, err, err_size, "the value %s is not UTF-8", wci_quoted(q, sizeof q, text, length));
            break;
        default: return input_fail(c, err, err_size, "unknown wc_value kind %d", v->kind);
        }
    }
    if (c->vocab_len >= 0) {
        const vocab_entry *e = missing ? NULL : vocab_find(c, is_text ? VOCAB_TEXT : VOCAB_INT, integer, text, length);
        if (e) {
            *id = e->id;
            return WC_OK;
        }
        if (c->policy == POLICY_BUCKET) {
            *id = c->vocab_len;
            return WC_OK;
        }
        if (missing)
            strcpy(shown, "None");
        else if (is_text)
            wci_quoted(shown, sizeof shown, text, length);
        else
            snprintf(shown, sizeof shown, "%lld", (long long)integer);
        return input_fail(c, err, err_size,
                          "missing or out-of-vocabulary value (%s) for feature %s; pass "
                          "unknown='bucket' to give them their own id",
                          shown, wci_quoted(q, sizeof q, c->name, c->name_len));
    }
    if (missing) {
        if (c->policy != POLICY_BUCKET)
            return input_fail(c, err, err_size,
                              "missing value for feature %s; pass unknown='bucket' to give them "
                              "their own id",
                              wci_quoted(q, sizeof q, c->name, c->name_len));
        *id = c->n_buckets > 0 ? c->n_buckets : (int64_t)mix64(MISSING_TAG);
        return WC_OK;
    }
    {
        uint64_t key = is_text ? mix64(fnv1a64(text, length) ^ STR_TAG) : mix64((uint64_t)integer ^ INT_TAG);
        *id = c->n_buckets > 0 ? (int64_t)(key % (uint64_t)c->n_buckets) : (int64_t)key;
    }
    return WC_OK;
}

/* The row's CSR entries: sorted column ids and their values. */
static int row_active(const wc_model *m, row_input r, int64_t *ids, uint64_t *cols, float *vals, size_t *n_active,
                      char *err, size_t err_size)
{
    size_t c, f, s, n = 0;
    for (c = 0; c < m->n_components; c++) {
        const component *comp = &m->components[c];
        int rc = comp->kind == COMP_CATEGORICAL ? category_input(comp, r, &ids[c], err, err_size)
                                                : bucket_input(comp, r, &ids[c], err, err_size);
        if (rc != WC_OK) return rc;
    }
    for (f = 0; f < m->n_feats; f++) {
        const feature *ft = &m->feats[f];
        if (!m->bits) {
            uint64_t local = 0;
            for (s = ft->first_slot; s < ft->first_slot + ft->n_slots; s++)
                local = local * (uint64_t)m->slot_radix[s] + (uint64_t)ids[m->slot_comp[s]];
            cols[n] = ft->base + local; /* features' ranges follow each other: already sorted */
            vals[n++] = 1.0f;
        } else {
            uint64_t h = ft->base, col;
            size_t j = f;
            for (s = ft->first_slot; s < ft->first_slot + ft->n_slots; s++)
                h = mix64(h ^ (uint64_t)ids[m->slot_comp[s]]);
            col = h >> (64 - m->bits);
            for (; j > 0 && cols[j - 1] > col; j--) cols[j] = cols[j - 1]; /* insertion sort: a handful */
            cols[j] = col;
        }
    }
    if (m->bits) { /* features that share a column: one entry, their count as its value */
        for (f = 0; f < m->n_feats; f++) {
            if (n > 0 && cols[n - 1] == cols[f]) {
                vals[n - 1] += 1.0f;
            } else {
                cols[n] = cols[f];
                vals[n++] = 1.0f;
            }
        }
    }
    *n_active = n;
    return WC_OK;
}

#define STACK_ITEMS 64 /* rows of up to this many features and components need no allocation */

/* Look-ups are memory bound: hint the caches where the compiler can (a no-op elsewhere). */
#if defined(__GNUC__) || defined(__clang__)
#define WCI_PREFETCH(address) __builtin_prefetch(address)
#else
#define WCI_PREFETCH(address) ((void)0)
#endif

/* The weight of `column` if it is stored among positions [lo, hi) (its directory bucket). */
static int find_in(const wc_model *m, uint64_t column, size_t lo, size_t hi, float *w)
{
    if (lo == hi) return 0;
    if (m->entries) { /* the last entry below the column, without branches, then the next one */
        const wci_entry *base = m->entries + lo;
        const uint32_t c = (uint32_t)column; /* column < n_features <= 2**32 */
        size_t len = hi - lo;
        while (len > 1) {
            size_t half = len / 2;
            base = base[half].id < c ? base + half : base;
            len -= half;
        }
        base += base->id < c;
        if (base == m->entries + hi || base->id != c) return 0;
        *w = base->weight;
        return 1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ids64[mid] < column)
            lo = mid + 1;
        else if (m->ids64[mid] > column)
            hi = mid;
        else {
            *w = m->values[mid];
            return 1;
        }
    }
    return 0;
}

static int find_weight(const wc_model *m, uint64_t column, float *w)
{
    uint64_t b = column >> m->shift;
    return find_in(m, column, m->directory[b], m->directory[b + 1], w);
}

double wc_link(const wc_model *m, double margin)
{
    if (!m) return NAN;
    if (m->loss == LOSS_LOGISTIC) return 1.0 / (1.0 + exp(-margin));
    if (m->loss == LOSS_POISSON) return exp(margin);
    return margin;
}

/* intercept + sum of value * weight, summed in the order given (the reference's order). */
static int score(const wc_model *m, const uint64_t *cols, const float *vals, size_t n, double *margin,
                 double *prediction, char *err, size_t err_size)
{
    double acc = 0.0, d;
    size_t k, lo[STACK_ITEMS], hi[STACK_ITEMS];
    float w;
    if (n <= STACK_ITEMS && m->entries) {
        /* All directory reads first, then all first probes: the cache misses of a row overlap. */
        for (k = 0; k < n; k++) {
            uint64_t b = cols[k] >> m->shift;
            lo[k] = m->directory[b];
            hi[k] = m->directory[b + 1];
        }
        for (k = 0; k < n; k++) WCI_PREFETCH(m->entries + lo[k] + (hi[k] - lo[k]) / 2);
        for (k = 0; k < n; k++)
            if (find_in(m, cols[k], lo[k], hi[k], &w)) acc += (double)vals[k] * (double)w;
    } else {
        for (k = 0; k < n; k++)
            if (find_weight(m, cols[k], &w)) acc += (double)vals[k] * (double)w;
    }
    d = m->intercept + acc;
    if (!isfinite(d)) return wci_report(err, err_size, WC_ERR_OVERFLOW, "the decision value overflows to %g", d);
    if (margin) *margin = d;
    if (prediction) *prediction = wc_link(m, d);
    return WC_OK;
}

static int predict_row(const wc_model *m, row_input r, double *margin, double *prediction, uint64_t *out_cols,
                       float *out_vals, size_t *out_n, char *err, size_t err_size)
{
    int64_t ids_small[STACK_ITEMS], *ids = ids_small;
    uint64_t cols_small[STACK_ITEMS], *cols = out_cols ? out_cols : cols_small;
    float vals_small[STACK_ITEMS], *vals = out_vals ? out_vals : vals_small;
    size_t n = 0;
    int rc;
    if (!m) return wci_report(err, err_size, WC_ERR_ARGUMENT, "NULL model");
    if (!m->has_spec)
        return wci_report(err, err_size, WC_ERR_ARGUMENT,
                          "this model has no feature spec, so it cannot score raw columns");
    if (m->n_components > STACK_ITEMS) ids = (int64_t *)malloc(m->n_components * sizeof *ids);
    if (!out_cols && m->n_feats > STACK_ITEMS) cols = (uint64_t *)malloc(m->n_feats * sizeof *cols);
    if (!out_vals && m->n_feats > STACK_ITEMS) vals = (float *)malloc(m->n_feats * sizeof *vals);
    if (!ids || !cols || !vals)
        rc = wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    else
        rc = row_active(m, r, ids, cols, vals, &n, err, err_size);
    if (rc == WC_OK && (margin || prediction)) rc = score(m, cols, vals, n, margin, prediction, err, err_size);
    if (out_n) *out_n = n;
    if (ids != ids_small) free(ids);
    if (cols != cols_small && cols != out_cols) free(cols);
    if (vals != vals_small && vals != out_vals) free(vals);
    return rc;
}

int wc_predict(const wc_model *m, const wc_value *row, double *margin, double *prediction, char *err, size_t err_size)
{
    row_input r;
    if (!row) return wci_report(err, err_size, WC_ERR_ARGUMENT, "NULL row");
    r.values = row;
    r.numbers = NULL;
    return predict_row(m, r, margin, prediction, NULL, NULL, NULL, err, err_size);
}

int wc_predict_numbers(const wc_model *m, const double *row, double *margin, double *prediction, char *err,
                       size_t err_size)
{
    row_input r;
    if (!row) return wci_report(err, err_size, WC_ERR_ARGUMENT, "NULL row");
    r.values = NULL;
    r.numbers = row;
    return predict_row(m, r, margin, prediction, NULL, NULL, NULL, err, err_size);
}

int wc_featurize(const wc_model *m, const wc_value *row, uint64_t *columns, float *values, size_t *n_active, char *err,
                 size_t err_size)
{
    row_input r;
    if (!row || !columns || !values || !n_active) return wci_report(err, err_size, WC_ERR_ARGUMENT, "NULL argument");
    r.values = row;
    r.numbers = NULL;
    return predict_row(m, r, NULL, NULL, columns, values, n_active, err, err_size);
}

int wc_predict_columns(const wc_model *m, const uint64_t *columns, const float *values, size_t n, double *margin,
                       double *prediction, char *err, size_t err_size)
{
    size_t k;
    if (!m || (n && (!columns || !values))) return wci_report(err, err_size, WC_ERR_ARGUMENT, "NULL argument");
    for (k = 0; k < n; k++)
        if (columns[k] >= m->n_features)
            return wci_report(err, err_size, WC_ERR_INPUT, "column index %llu is outside [0, %llu)",
                              (unsigned long long)columns[k], (unsigned long long)m->n_features);
    return score(m, columns, values, n, margin, prediction, err, err_size);
}

int wc_parse_number(const char *text, size_t length, double *value)
{
    size_t k;
    int ok;
    if (!text || !value) return 0;
    while (length && (text[0] == ' ' || text[0] == '\t')) {
        text++;
        length--;
    }
    while (length && (text[length - 1] == ' ' || text[length - 1] == '\t')) length--;
    if (length == 0) return 0;
    for (k = 0; k < length; k++) /* strtod would read hexadecimal and stop at a NUL */
        if (text[k] == 'x' || text[k] == 'X' || text[k] == '\0' || text[k] == ' ' || text[k] == '\t') return 0;
    *value = wci_parse_double(text, length, &ok);
    return ok;
}

/* ----------------------------------------------------------------------- facts */

uint64_t wc_n_features(const wc_model *m) { return m ? m->n_features : 0; }
uint64_t wc_nnz(const wc_model *m) { return m ? m->nnz : 0; }
double wc_intercept(const wc_model *m) { return m ? m->intercept : NAN; }
const char *wc_loss(const wc_model *m) { return m ? wci_loss_names[m->loss] : ""; }
int wc_is_classifier(const wc_model *m) { return m && (m->loss == LOSS_LOGISTIC || m->loss == LOSS_HINGE); }
int wc_has_spec(const wc_model *m) { return m && m->has_spec; }
size_t wc_memory_bytes(const wc_model *m) { return m ? m->bytes : 0; }
size_t wc_n_columns(const wc_model *m) { return m ? m->n_columns : 0; }
size_t wc_max_active(const wc_model *m) { return m ? m->n_feats : 0; }

const char *wc_column_name(const wc_model *m, size_t column, size_t *length)
{
    if (!m || column >= m->n_columns) return NULL;
    if (length) *length = m->column_len[column];
    return m->column_name[column];
}

unsigned wc_column_flags(const wc_model *m, size_t column)
{
    return m && column < m->n_columns ? m->column_flags[column] : 0u;
}

float wc_weight(const wc_model *m, uint64_t column)
{
    float w = 0.0f;
    if (!m || column >= m->n_features || !find_weight(m, column, &w)) return 0.0f;
    return w;
}

int wc_nonzero(const wc_model *m, uint64_t i, uint64_t *column, float *weight)
{
    if (!m || i >= m->nnz) return WC_ERR_ARGUMENT;
    if (column) *column = wci_id(m, (size_t)i);
    if (weight) *weight = wci_weight(m, (size_t)i);
    return WC_OK;
}

const char *wc_status_name(int status)
{
    static const char *const names[] = {"ok",
                                        "bad argument",
                                        "I/O error",
                                        "format error",
                                        "newer format version",
                                        "out of memory",
                                        "bad input value",
                                        "decision overflow"};
    return status >= 0 && status <= WC_ERR_OVERFLOW ? names[status] : "unknown status";
}
