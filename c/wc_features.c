/*
 * wc_features.c: one feature object of a FeatureSpec (bucketize, categorical, cross), checked as
 * the Python constructors check it (docs/format.md, "The feature spec").
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

static const char *const POLICY_NAMES[] = {"error", "clip", "bucket"};

/* A non-empty string member (Python's _check_name). */
static int get_name(wci_spec_parse *p, size_t obj, const char *key, const char **s, size_t *len, int *lone)
{
    size_t v;
    if (!wcj_get(p->d, obj, key, &v)) return wci_spec_fail(p, "a feature lacks '%s'", key);
    if (wcj_type(p->d, v) != J_STRING || wcj_skip(p->d, v) - v == 2)
        return wci_spec_fail(p, "a feature's '%s' must be a non-empty string", key);
    *s = wci_arena_string(p->m, p->d, v, len, lone);
    return WC_OK;
}

/* Index of the string member's value among choices, or -1. */
static int get_choice(wci_spec_parse *p, size_t obj, const char *key, const char *const *choices, int n, int *out)
{
    size_t v;
    int k;
    if (!wcj_get(p->d, obj, key, &v)) return wci_spec_fail(p, "a feature lacks '%s'", key);
    if (wcj_type(p->d, v) == J_STRING)
        for (k = 0; k < n; k++)
            if (wcj_string_is(p->d, v, choices[k], strlen(choices[k]))) {
                *out = k;
                return WC_OK;
            }
    return wci_spec_fail(p, "a feature's '%s' has an unknown value", key);
}

/* A JSON number or "inf"/"-inf" as Python's _float_from_json reads it. */
static int get_float(wci_spec_parse *p, size_t v, double *x)
{
    jnum num;
    if (wcj_type(p->d, v) == J_STRING) {
        if (wcj_string_is(p->d, v, "inf", 3)) {
            *x = INFINITY;
            return WC_OK;
        }
        if (wcj_string_is(p->d, v, "-inf", 4)) {
            *x = -INFINITY;
            return WC_OK;
        }
        return wci_spec_fail(p, "expected a number");
    }
    if (wcj_type(p->d, v) != J_NUMBER) return wci_spec_fail(p, "expected a number");
    if (!wcj_number(p->d, v, &num)) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    if (num.overflow) return wci_spec_fail(p, "an integer is too large to convert to float");
    *x = num.value;
    return WC_OK;
}

static int parse_bucketize(wci_spec_parse *p, size_t obj, component *c)
{
    const jdoc *d = p->d;
    size_t v, len;
    int rc, wrap_type;
    if ((rc = get_choice(p, obj, "out_of_range", POLICY_NAMES, 3, &c->policy)) != WC_OK) return rc;
    if (!wcj_get(d, obj, "wrap", &v)) return wci_spec_fail(p, "a Bucketize lacks 'wrap'");
    wrap_type = wcj_type(d, v);
    if (wrap_type != J_TRUE && wrap_type != J_FALSE) return wci_spec_fail(p, "'wrap' must be true or false");
    c->wrap = wrap_type == J_TRUE;
    if (wcj_get(d, obj, "boundaries", &v)) {
        size_t pos, k = 0;
        int more;
        if (wcj_type(d, v) != J_ARRAY) return wci_spec_fail(p, "'boundaries' must be an array");
        len = wcj_count(d, v);
        if (len < 2) return wci_spec_fail(p, "boundaries must hold at least 2 values");
        c->kind = COMP_EDGES;
        c->edges = (double *)wci_alloc(p->m, len, sizeof(double));
        if (!c->edges) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
        more = wcj_first(d, v, &pos);
        while (more) {
            if ((rc = get_float(p, pos, &c->edges[k])) != WC_OK) return rc;
            if (isnan(c->edges[k])) return wci_spec_fail(p, "boundaries must not be NaN");
            if (k > 0 && !(c->edges[k] > c->edges[k - 1]))
                return wci_spec_fail(p, "boundaries must be strictly increasing");
            k++;
            more = wcj_next(d, &pos, 0);
        }
        for (k = 1; k + 1 < len; k++)
            if (isinf(c->edges[k]))
                return wci_spec_fail(p, "only the first boundary may be -inf and only the last +inf");
        if (c->edges[0] == INFINITY || c->edges[len - 1] == -INFINITY)
            return wci_spec_fail(p, "only the first boundary may be -inf and only the last +inf");
        if (c->wrap && (isinf(c->edges[0]) || isinf(c->edges[len - 1])))
            return wci_spec_fail(p, "a periodic (wrap) column needs finite first and last boundaries");
        c->n_buckets = (int64_t)len - 1;
        c->start = c->edges[0];
        c->stop = c->edges[len - 1];
    } else {
        int64_t n;
        c->kind = COMP_UNIFORM;
        if (!wcj_get(d, obj, "start", &v)) return wci_spec_fail(p, "a Bucketize lacks 'start'");
        if ((rc = get_float(p, v, &c->start)) != WC_OK) return rc;
        if (!wcj_get(d, obj, "stop", &v)) return wci_spec_fail(p, "a Bucketize lacks 'stop'");
        if ((rc = get_float(p, v, &c->stop)) != WC_OK) return rc;
        if (!isfinite(c->start) || !isfinite(c->stop)) return wci_spec_fail(p, "start and stop must be finite");
        if (!(c->start < c->stop)) return wci_spec_fail(p, "start must be below stop");
        if ((rc = wci_spec_int(p, obj, "n_buckets", 1, (uint64_t)MAX_BUCKETS, 0, &n, NULL)) != WC_OK) return rc;
        c->n_buckets = n;
        {
            double span = c->stop - c->start; /* rounded to double, as in Python */
            c->scale = (double)n / span;
        }
        if (!isfinite(c->scale)) /* Python buckets such specs by undefined float-to-int conversions */
            return wci_spec_fail(p, "n_buckets / (stop - start) overflows: the buckets are narrower than doubles");
    }
    c->size = c->n_buckets + (c->policy == POLICY_BUCKET);
    return WC_OK;
}

vocab_entry *wci_vocab_slot(const component *c, uint64_t hash, int type, int64_t integer, const char *text,
                            size_t length)
{
    size_t k = (size_t)hash & c->vocab_mask;
    for (;;) {
        vocab_entry *e = &c->vocab[k];
        if (e->type == VOCAB_EMPTY) return e;
        if (e->hash == hash && e->type == type &&
            (type == VOCAB_INT ? e->integer == integer : e->length == length && memcmp(e->text, text, length) == 0))
            return e;
        k = (k + 1) & c->vocab_mask;
    }
}

static int parse_vocabulary(wci_spec_parse *p, size_t v, component *c)
{
    const jdoc *d = p->d;
    size_t n = wcj_count(d, v), cap = 2, pos;
    int more, rc = WC_OK;
    int64_t id = 0;
    if (n == 0) return wci_spec_fail(p, "a vocabulary must not be empty");
    while (cap < 2 * n) cap <<= 1;
    c->vocab = (vocab_entry *)wci_alloc(p->m, cap, sizeof(vocab_entry));
    if (!c->vocab) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    c->vocab_mask = cap - 1;
    c->vocab_len = (int64_t)n;
    more = wcj_first(d, v, &pos);
    while (more && rc == WC_OK) {
        int t = wcj_type(d, pos), type;
        int64_t integer = 0;
        const char *text = NULL;
        size_t length = 0;
        uint64_t hash;
        vocab_entry *e;
        if (t == J_STRING) {
            type = VOCAB_TEXT;
            text = wci_arena_string(p->m, d, pos, &length, NULL);
            hash = fnv1a64(text, length);
        } else if (t == J_TRUE || t == J_FALSE) { /* Python: bool is an Integral: 1 and 0 */
            type = VOCAB_INT;
            integer = t == J_TRUE;
            hash = mix64((uint64_t)integer);
        } else if (t == J_NUMBER) {
            jnum num;
            if (!wcj_number(d, pos, &num)) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
            if (!num.is_int) return wci_spec_fail(p, "vocabulary values must be strings or integers");
            if (wcj_int_range(&num, INT64_MIN, INT64_MAX_U)) {
                type = VOCAB_INT;
                integer = wcj_int64(&num);
                hash = mix64((uint64_t)integer);
            } else { /* beyond int64: kept (by its digits) but no int64 input can match it */
                type = VOCAB_BIG;
                text = d->s + num.start;
                length = num.len;
                hash = fnv1a64(text, length);
            }
        } else {
            return wci_spec_fail(p, "vocabulary values must be strings or integers");
        }
        e = wci_vocab_slot(c, hash, type, integer, text, length);
        if (e->type != VOCAB_EMPTY) rc = wci_spec_fail(p, "vocabulary values must be distinct");
        e->hash = hash;
        e->type = type;
        e->integer = integer;
        e->text = text;
        e->length = length;
        e->id = id++;
        more = wcj_next(d, &pos, 0);
    }
    for (pos = 0; pos <= c->vocab_mask; pos++) /* big integers were compared by their JSON text */
        if (c->vocab[pos].type == VOCAB_BIG) c->vocab[pos].text = NULL;
    return rc;
}

static int parse_categorical(wci_spec_parse *p, size_t obj, component *c)
{
    const jdoc *d = p->d;
    static const char *const unknown[] = {"error", "bucket"};
    size_t v;
    int rc, no_buckets = 1, which = 0;
    int64_t n = 0;
    c->kind = COMP_CATEGORICAL;
    c->vocab_len = -1;
    if ((rc = get_choice(p, obj, "unknown", unknown, 2, &which)) != WC_OK) return rc;
    c->policy = which == 0 ? POLICY_ERROR : POLICY_BUCKET;
    if ((rc = wci_spec_int(p, obj, "n_buckets", 1, (uint64_t)MAX_BUCKETS, 1, &n, &no_buckets)) != WC_OK) return rc;
    c->n_buckets = no_buckets ? 0 : n;
    if (!wcj_get(d, obj, "vocabulary", &v)) return wci_spec_fail(p, "a Categorical lacks 'vocabulary'");
    if (wcj_type(d, v) != J_NULL) {
        if (wcj_type(d, v) != J_ARRAY) return wci_spec_fail(p, "a vocabulary must be an array");
        if (!no_buckets) return wci_spec_fail(p, "a Categorical has both n_buckets and a vocabulary");
        if ((rc = parse_vocabulary(p, v, c)) != WC_OK) return rc;
    }
    if (c->vocab_len >= 0)
        c->size = c->vocab_len + (c->policy == POLICY_BUCKET);
    else if (c->n_buckets > 0)
        c->size = c->n_buckets + (c->policy == POLICY_BUCKET);
    else
        c->size = -1;
    return WC_OK;
}

int wci_parse_component(wci_spec_parse *p, size_t obj, component *c)
{
    size_t v;
    int rc;
    if ((rc = get_name(p, obj, "column", &c->column_name, &c->column_name_len, NULL)) != WC_OK) return rc;
    if ((rc = get_name(p, obj, "name", &c->name, &c->name_len, NULL)) != WC_OK) return rc;
    wcj_get(p->d, obj, "type", &v);
    if (wcj_string_is(p->d, v, "bucketize", 9)) return parse_bucketize(p, obj, c);
    return parse_categorical(p, obj, c);
}

static int push_slot(wci_spec_parse *p, size_t pos)
{
    if (p->n_slot_pos == p->cap_slot_pos) {
        size_t cap = p->cap_slot_pos ? 2 * p->cap_slot_pos : 16;
        size_t *grown = (size_t *)realloc(p->slot_pos, cap * sizeof(size_t));
        if (!grown) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
        p->slot_pos = grown;
        p->cap_slot_pos = cap;
    }
    p->slot_pos[p->n_slot_pos++] = pos;
    return WC_OK;
}

/* Append the components of the feature at obj (crosses flattened, as Python's Cross does). */
int wci_collect_components(wci_spec_parse *p, size_t obj, int depth)
{
    const jdoc *d = p->d;
    size_t v, pos, first = p->n_slot_pos;
    int rc, more;
    if (wcj_type(d, obj) != J_OBJECT || !wcj_get(d, obj, "type", &v) || wcj_type(d, v) != J_STRING)
        return wci_spec_fail(p, "not a feature description");
    if (wcj_string_is(d, v, "bucketize", 9) || wcj_string_is(d, v, "categorical", 11)) return push_slot(p, obj);
    if (!wcj_string_is(d, v, "cross", 5)) {
        /* numeric, tokens, a cross's ref (version 2 kinds written as version 1 by early writers) */
        char q[96];
        return wci_spec_fail(p, "feature type %s is not supported: this reader computes bucketize, "
                                "categorical and cross features only",
                             wci_quoted(q, sizeof q, d->s + v + 1, wcj_skip(d, v) - v - 2));
    }
    if (depth > JSON_MAX_DEPTH) return wci_spec_fail(p, "crosses nested too deeply");
    if (!wcj_get(d, obj, "features", &v) || wcj_type(d, v) != J_ARRAY)
        return wci_spec_fail(p, "a Cross needs an array of 'features'");
    more = wcj_first(d, v, &pos);
    while (more) {
        if ((rc = wci_collect_components(p, pos, depth + 1)) != WC_OK) return rc;
        more = wcj_next(d, &pos, 0);
    }
    if (p->n_slot_pos - first < 2) return wci_spec_fail(p, "a Cross needs at least 2 features");
    /* the name is validated (Python checks it) but kept only for top-level features */
    if (!wcj_get(d, obj, "name", &v) || wcj_type(d, v) != J_STRING || wcj_skip(d, v) - v == 2)
        return wci_spec_fail(p, "a Cross's 'name' must be a non-empty string");
    return WC_OK;
}
