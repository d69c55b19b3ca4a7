/*
 * A test driver for the C reader: loads every model of a pack file from memory (each copied
 * into a buffer of exactly its size, so that an address sanitizer catches any read past it)
 * and prints one line per model, which the test compares with what Python's reader makes of
 * the same bytes:
 *
 *     <status> [nnz n_features intercept weights_hash spec columns margins]
 *
 * weights_hash is FNV-1a over the (column id, float32 bits) pairs; margins are those of two
 * probe rows (see _probe in tests/c/test_c_fuzz.py) or "E<status>" where the row is rejected.
 * Pack file: records of a little-endian uint32 length followed by that many bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "widecross.h"

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001B3);
    return h;
}

static int numeric_only(const wc_model *m)
{
    size_t j;
    for (j = 0; j < wc_n_columns(m); j++)
        if (wc_column_flags(m, j) != WC_COLUMN_NUMERIC) return 0;
    return 1;
}

static void probe(const wc_model *m, int which)
{
    size_t j, n = wc_n_columns(m);
    wc_value *row = (wc_value *)calloc(n + 1, sizeof *row);
    uint64_t *cols = (uint64_t *)calloc(wc_max_active(m) + 1, sizeof *cols);
    float *vals = (float *)calloc(wc_max_active(m) + 1, sizeof *vals);
    double margin = 0, p = 0;
    size_t active = 0;
    char err[256];
    int rc;
    if (!row || !cols || !vals) abort();
    for (j = 0; j < n; j++) {
        unsigned flags = wc_column_flags(m, j);
        if (flags & WC_COLUMN_TEXT) {
            row[j].kind = WC_TEXT;
            row[j].text = which ? "zz" : "a";
            row[j].length = which ? 2 : 1;
        } else if (flags & WC_COLUMN_CATEGORICAL) {
            row[j].kind = WC_INTEGER;
            row[j].integer = which ? 123456 : 1;
        } else {
            row[j].kind = WC_NUMBER;
            row[j].number = which ? 1e9 : 0.25;
        }
    }
    rc = wc_predict(m, row, &margin, &p, err, sizeof err);
    if (numeric_only(m)) { /* the all-numbers entry point must agree */
        double *numbers = (double *)calloc(n + 1, sizeof *numbers), margin2 = 0, p2 = 0;
        if (!numbers) abort();
        for (j = 0; j < n; j++) numbers[j] = row[j].number;
        if (wc_predict_numbers(m, numbers, &margin2, &p2, err, sizeof err) != rc) abort();
        if (rc == WC_OK && (margin2 != margin || p2 != p)) abort();
        free(numbers);
    }
    if (rc == WC_OK) {
        double margin3 = 0, p3 = 0;
        rc = wc_featurize(m, row, cols, vals, &active, err, sizeof err);
        if (rc != WC_OK || active > wc_max_active(m)) abort();
        for (j = 1; j < active; j++)
            if (cols[j] <= cols[j - 1]) abort(); /* strictly increasing, as a CSR row */
        if (wc_predict_columns(m, cols, vals, active, &margin3, &p3, err, sizeof err) != WC_OK) abort();
        if (margin3 != margin || p3 != p || wc_link(m, margin) != p) abort();
        printf(" %.17g", margin);
    } else {
        if (strlen(err) == 0) abort();
        printf(" E%d", rc);
    }
    free(row);
    free(cols);
    free(vals);
}

static void describe(const wc_model *m)
{
    uint64_t h = UINT64_C(0xCBF29CE484222325), i, column;
    float w;
    size_t j;
    for (i = 0; i < wc_nnz(m); i++) {
        if (wc_nonzero(m, i, &column, &w) != WC_OK || wc_weight(m, column) != w) abort();
        h = fnv(h, &column, sizeof column);
        h = fnv(h, &w, sizeof w);
    }
    if (wc_weight(m, wc_n_features(m)) != 0 || wc_weight(m, UINT64_MAX) != 0) abort();
    printf(" %llu %llu %.17g %016llx %d ", (unsigned long long)wc_nnz(m), (unsigned long long)wc_n_features(m),
           wc_intercept(m), (unsigned long long)h, wc_has_spec(m));
    for (j = 0; j < wc_n_columns(m); j++) {
        size_t len;
        const char *name = wc_column_name(m, j, &len);
        printf("%s%u:", j ? "," : "", wc_column_flags(m, j));
        h = fnv(UINT64_C(0xCBF29CE484222325), name, len);
        printf("%016llx", (unsigned long long)h);
    }
    if (wc_n_columns(m) == 0) printf("-");
    if (wc_has_spec(m)) {
        probe(m, 0);
        probe(m, 1);
    }
}

int main(int argc, char **argv)
{
    FILE *f;
    unsigned char len_bytes[4];
    if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: fuzz_driver PACK\n");
        return 2;
    }
    while (fread(len_bytes, 1, 4, f) == 4) {
        size_t n =
            (size_t)len_bytes[0] | (size_t)len_bytes[1] << 8 | (size_t)len_bytes[2] << 16 | (size_t)len_bytes[3] << 24;
        unsigned char *blob = (unsigned char *)malloc(n ? n : 1);
        wc_model *m = NULL;
        char err[300];
        int rc;
        if (!blob || fread(blob, 1, n, f) != n) {
            fprintf(stderr, "fuzz_driver: short pack file\n");
            return 2;
        }
        rc = wc_load_memory(n ? blob : NULL, n, &m, err, sizeof err);
        printf("%d", rc);
        if (rc == WC_OK)
            describe(m);
        else if (strlen(err) == 0)
            abort(); /* every failure explains itself */
        printf("\n");
        wc_free(m);
        free(blob);
    }
    fclose(f);
    return 0;
}
