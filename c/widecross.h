/*
 * widecross.h: read widecross model files (.wcm, format version 1) and predict from raw
 * columns, in C99 with libc and libm only.
 *
 * The format and the featurizer are specified in docs/format.md. A model is loaded once
 * (every length and checksum is verified before anything is allocated from it), is immutable
 * afterwards, and may be shared by any number of threads. Memory: the nonzero weights (4 or 8
 * bytes of column id + 4 bytes of weight each), a look-up directory of at most one byte per
 * nonzero, and the feature spec; never anything of the model's width.
 *
 *     wc_model *m;
 *     char err[256];
 *     if (wc_load_file("houses.wcm", &m, err, sizeof err) != WC_OK) { puts(err); return 1; }
 *     double row[2] = {48.8566, 2.3522};          // the spec's columns, in wc_column_name order
 *     double margin, p;
 *     if (wc_predict_numbers(m, row, &margin, &p, err, sizeof err) != WC_OK) puts(err);
 *     wc_free(m);
 */
#ifndef WIDECROSS_H
#define WIDECROSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WC_FORMAT_VERSION 1

/* Status codes: every function that can fail returns one; 0 is success. */
enum {
    WC_OK = 0,
    WC_ERR_ARGUMENT = 1, /* a NULL pointer, a column index out of range, a model without spec */
    WC_ERR_IO = 2,       /* the file cannot be opened or read */
    WC_ERR_FORMAT = 3,   /* not a readable model: truncated, corrupted, foreign, inconsistent */
    WC_ERR_VERSION = 4,  /* a format version newer than this reader */
    WC_ERR_MEMORY = 5,   /* out of memory, or a model larger than this reader can address */
    WC_ERR_INPUT = 6,    /* a row value the feature spec rejects (out of range, unknown, type) */
    WC_ERR_OVERFLOW = 7  /* the decision value is not finite */
};

/* Kinds of wc_value. */
enum {
    WC_MISSING = 0, /* no value (an empty CSV field, NULL, None): NaN for numeric columns */
    WC_NUMBER = 1,  /* a double: numeric (Bucketize) columns; NaN means missing */
    WC_INTEGER = 2, /* an int64: numeric columns (converted to double) and categorical ones */
    WC_TEXT = 3     /* UTF-8 bytes (need not be NUL-terminated): categorical columns only */
};

/* One raw value of one column. */
typedef struct {
    int kind;
    double number;
    int64_t integer;
    const char *text;
    size_t length;
} wc_value;

/* Flags of wc_column_flags. */
#define WC_COLUMN_NUMERIC 1u     /* a Bucketize reads the column: values must be numbers */
#define WC_COLUMN_CATEGORICAL 2u /* a Categorical reads it: integers or text */
#define WC_COLUMN_TEXT 4u        /* every Categorical reading it has a vocabulary of strings only */

typedef struct wc_model wc_model;

/* Loading. `err` (may be NULL) receives a one-line message naming the problem. */
int wc_load_file(const char *path, wc_model **model, char *err, size_t err_size);
int wc_load_memory(const void *data, size_t size, wc_model **model, char *err, size_t err_size);
void wc_free(wc_model *model);

/* Facts about a loaded model. */
uint64_t wc_n_features(const wc_model *model); /* the width: number of columns */
uint64_t wc_nnz(const wc_model *model);        /* stored (nonzero) weights */
double wc_intercept(const wc_model *model);
const char *wc_loss(const wc_model *model); /* "logistic", "hinge", "squared" or "poisson" */
int wc_is_classifier(const wc_model *model);
int wc_has_spec(const wc_model *model);
size_t wc_memory_bytes(const wc_model *model); /* bytes held by the model */

/* The raw columns a row must provide, in the order wc_predict reads them. */
size_t wc_n_columns(const wc_model *model);
const char *wc_column_name(const wc_model *model, size_t column, size_t *length);
unsigned wc_column_flags(const wc_model *model, size_t column);
size_t wc_max_active(const wc_model *model); /* most active columns per row: the feature count */

/* The stored weight of one column id (0 when none is stored or the id is out of range). */
float wc_weight(const wc_model *model, uint64_t column);

/* The i-th stored weight (0 <= i < wc_nnz), in increasing column order; WC_ERR_ARGUMENT past it. */
int wc_nonzero(const wc_model *model, uint64_t i, uint64_t *column, float *weight);

/*
 * Predict one row: `row[j]` is the value of column j (see wc_column_name). `margin` receives
 * intercept + x . w, `prediction` the model's inverse link of it: P(class 1) for "logistic",
 * exp(margin) for "poisson", the margin itself for "squared" and "hinge". Either output may be
 * NULL. Errors: WC_ERR_INPUT names the column and the value; WC_ERR_OVERFLOW.
 */
int wc_predict(const wc_model *model, const wc_value *row, double *margin, double *prediction, char *err,
               size_t err_size);

/* The same for a spec whose columns are all numeric: `row[j]` is a double (NaN = missing). */
int wc_predict_numbers(const wc_model *model, const double *row, double *margin, double *prediction, char *err,
                       size_t err_size);

/*
 * The active columns of one row, as the reference featurizer's CSR row: strictly increasing
 * column ids in `columns` and their values (1, or the number of features of the row that share
 * a hashed column) in `values`; both need room for wc_max_active(model) entries.
 */
int wc_featurize(const wc_model *model, const wc_value *row, uint64_t *columns, float *values, size_t *n_active,
                 char *err, size_t err_size);

/*
 * Score an already featurized row (for models without a spec): `columns` need not be sorted;
 * values are the feature values. Ids outside [0, n_features) give WC_ERR_INPUT.
 */
int wc_predict_columns(const wc_model *model, const uint64_t *columns, const float *values, size_t n, double *margin,
                       double *prediction, char *err, size_t err_size);

/*
 * Parse a decimal number as wcpredict reads CSV fields: what strtod accepts in the "C" locale
 * (whatever the process's locale), surrounding blanks allowed, hexadecimal refused; inf, nan.
 * Returns 1 and sets *value on success, 0 otherwise.
 */
int wc_parse_number(const char *text, size_t length, double *value);

/* The inverse link alone. */
double wc_link(const wc_model *model, double margin);

/* A short name of a status code ("ok", "format error", ...). */
const char *wc_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* WIDECROSS_H */
