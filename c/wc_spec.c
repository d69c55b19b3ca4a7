/*
 * wc_spec.c: the FeatureSpec stored in the metadata: its JSON schema, validated as the Python
 * constructors validate it, turned into the component / feature / slot tables that prediction
 * reads (docs/format.md, "Feature spec").
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

/* ======================================================================= the feature spec */

typedef struct {
    const jdoc *d;
    wc_model *m;
    char *err;
    size_t err_size;
    size_t *slot_pos; /* JSON offset of every feature's components, features in order */
    size_t n_slot_pos, cap_slot_pos;
    size_t *feat_pos; /* JSON offset of every feature */
} spec_parse;

static int spec_fail(spec_parse *p, const char *fmt, ...)
{
    if (p->err && p->err_size) {
        static const char prefix[] = "the stored feature spec cannot be read: ";
        size_t used = sizeof prefix - 1 < p->err_size ? sizeof prefix - 1 : p->err_size - 1;
        va_list ap;
        memcpy(p->err, prefix, used);
        p->err[used] = '\0';
        va_start(ap, fmt);
        vsnprintf(p->err + used, p->err_size - used, fmt, ap);
        va_end(ap);
    }
    return WC_ERR_FORMAT;
}

/* Copy the JSON string at i into the model's arena (sized for the spec's text). */
static const char *arena_string(wc_model *m, const jdoc *d, size_t i, size_t *len, int *lone)
{
    char *out = m->arena + m->arena_used;
    *len = wcj_string(d, i, out, lone);
    out[*len] = '\0';
    m->arena_used += *len + 1;
    return out;
}

/* A non-empty string member (Python's _check_name). */
static int get_name(spec_parse *p, size_t obj, const char *key, const char **s, size_t *len, int *lone)
{
    size_t v;
    if (!wcj_get(p->d, obj, key, &v)) return spec_fail(p, "a feature lacks '%s'", key);
    if (wcj_type(p->d, v) != J_STRING || wcj_skip(p->d, v) - v == 2)
        return spec_fail(p, "a feature's '%s' must be a non-empty string", key);
    *s = arena_string(p->m, p->d, v, len, lone);
    return WC_OK;
}

/* Index of the string member's value among choices, or -1. */
static int get_choice(spec_parse *p, size_t obj, const char *key, const char *const *choices, int n, int *out)
{
    size_t v;
    int k;
    if (!wcj_get(p->d, obj, key, &v)) return spec_fail(p, "a feature lacks '%s'", key);
    if (wcj_type(p->d, v) == J_STRING)
        for (k = 0; k < n; k++)
            if (wcj_string_is(p->d, v, choices[k], strlen(choices[k]))) {
                *out = k;
                return WC_OK;
            }
    return spec_fail(p, "a feature's '%s' has an unknown value", key);
}

/* A JSON number or "inf"/"-inf" as Python's _float_from_json reads it. */
static int get_float(spec_parse *p, size_t v, double *x)
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
        return spec_fail(p, "expected a number");
    }
    if (wcj_type(p->d, v) != J_NUMBER) return spec_fail(p, "expected a number");
    if (!wcj_number(p->d, v, &num)) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    if (num.overflow) return spec_fail(p, "an integer is too large to convert to float");
    *x = num.value;
    return WC_OK;
}

static int get_int(spec_parse *p, size_t obj, const char *key, int64_t low, uint64_t high, int nullable,
                   int64_t *out, int *is_null)
{
    size_t v;
    jnum num;
    if (!wcj_get(p->d, obj, key, &v)) return spec_fail(p, "'%s' is missing", key);
    if (is_null) *is_null = 0;
    if (nullable && wcj_type(p->d, v) == J_NULL) {
        *is_null = 1;
        return WC_OK;
    }
    if (wcj_type(p->d, v) != J_NUMBER) return spec_fail(p, "'%s' must be an integer", key);
    if (!wcj_number(p->d, v, &num)) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    if (!wcj_int_range(&num, low, high))
        return spec_fail(p, "'%s' must be an integer in [%lld, %llu]", key, (long long)low, (unsigned long long)high);
    *out = wcj_int64(&num);
    return WC_OK;
}

static int parse_bucketize(spec_parse *p, size_t obj, component *c)
{
    const jdoc *d = p->d;
    size_t v, len;
    int rc, wrap_type;
    if ((rc = get_choice(p, obj, "out_of_range", POLICY_NAMES, 3, &c->policy)) != WC_OK) return rc;
    if (!wcj_get(d, obj, "wrap", &v)) return spec_fail(p, "a Bucketize lacks 'wrap'");
    wrap_type = wcj_type(d, v);
    if (wrap_type != J_TRUE && wrap_type != J_FALSE) return spec_fail(p, "'wrap' must be true or false");
    c->wrap = wrap_type == J_TRUE;
    if (wcj_get(d, obj, "boundaries", &v)) {
        size_t pos, k = 0;
        int more;
        if (wcj_type(d, v) != J_ARRAY) return spec_fail(p, "'boundaries' must be an array");
        len = wcj_count(d, v);
        if (len < 2) return spec_fail(p, "boundaries must hold at least 2 values");
        c->kind = COMP_EDGES;
        c->edges = (double *)wci_alloc(p->m, len, sizeof(double));
        if (!c->edges) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
        more = wcj_first(d, v, &pos);
        while (more) {
            if ((rc = get_float(p, pos, &c->edges[k])) != WC_OK) return rc;
            if (isnan(c->edges[k])) return spec_fail(p, "boundaries must not be NaN");
            if (k > 0 && !(c->edges[k] > c->edges[k - 1])) return spec_fail(p, "boundaries must be strictly increasing");
            k++;
            more = wcj_next(d, &pos, 0);
        }
        for (k = 1; k + 1 < len; k++)
            if (isinf(c->edges[k])) return spec_fail(p, "only the first boundary may be -inf and only the last +inf");
        if (c->edges[0] == INFINITY || c->edges[len - 1] == -INFINITY)
            return spec_fail(p, "only the first boundary may be -inf and only the last +inf");
        if (c->wrap && (isinf(c->edges[0]) || isinf(c->edges[len - 1])))
            return spec_fail(p, "a periodic (wrap) column needs finite first and last boundaries");
        c->n_buckets = (int64_t)len - 1;
        c->start = c->edges[0];
        c->stop = c->edges[len - 1];
    } else {
        int64_t n;
        c->kind = COMP_UNIFORM;
        if (!wcj_get(d, obj, "start", &v)) return spec_fail(p, "a Bucketize lacks 'start'");
        if ((rc = get_float(p, v, &c->start)) != WC_OK) return rc;
        if (!wcj_get(d, obj, "stop", &v)) return spec_fail(p, "a Bucketize lacks 'stop'");
        if ((rc = get_float(p, v, &c->stop)) != WC_OK) return rc;
        if (!isfinite(c->start) || !isfinite(c->stop)) return spec_fail(p, "start and stop must be finite");
        if (!(c->start < c->stop)) return spec_fail(p, "start must be below stop");
        if ((rc = get_int(p, obj, "n_buckets", 1, (uint64_t)MAX_BUCKETS, 0, &n, NULL)) != WC_OK) return rc;
        c->n_buckets = n;
        {
            double span = c->stop - c->start; /* rounded to double, as in Python */
            c->scale = (double)n / span;
        }
        if (!isfinite(c->scale)) /* Python buckets such specs by undefined float-to-int conversions */
            return spec_fail(p, "n_buckets / (stop - start) overflows: the buckets are narrower than doubles");
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

static int parse_vocabulary(spec_parse *p, size_t v, component *c)
{
    const jdoc *d = p->d;
    size_t n = wcj_count(d, v), cap = 2, pos;
    int more, rc = WC_OK;
    int64_t id = 0;
    if (n == 0) return spec_fail(p, "a vocabulary must not be empty");
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
            text = arena_string(p->m, d, pos, &length, NULL);
            hash = fnv1a64(text, length);
        } else if (t == J_TRUE || t == J_FALSE) { /* Python: bool is an Integral: 1 and 0 */
            type = VOCAB_INT;
            integer = t == J_TRUE;
            hash = mix64((uint64_t)integer);
        } else if (t == J_NUMBER) {
            jnum num;
            if (!wcj_number(d, pos, &num)) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
            if (!num.is_int) return spec_fail(p, "vocabulary values must be strings or integers");
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
            return spec_fail(p, "vocabulary values must be strings or integers");
        }
        e = wci_vocab_slot(c, hash, type, integer, text, length);
        if (e->type != VOCAB_EMPTY) rc = spec_fail(p, "vocabulary values must be distinct");
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

static int parse_categorical(spec_parse *p, size_t obj, component *c)
{
    const jdoc *d = p->d;
    static const char *const unknown[] = {"error", "bucket"};
    size_t v;
    int rc, no_buckets, which;
    int64_t n = 0;
    c->kind = COMP_CATEGORICAL;
    c->vocab_len = -1;
    if ((rc = get_choice(p, obj, "unknown", unknown, 2, &which)) != WC_OK) return rc;
    c->policy = which == 0 ? POLICY_ERROR : POLICY_BUCKET;
    if ((rc = get_int(p, obj, "n_buckets", 1, (uint64_t)MAX_BUCKETS, 1, &n, &no_buckets)) != WC_OK) return rc;
    c->n_buckets = no_buckets ? 0 : n;
    if (!wcj_get(d, obj, "vocabulary", &v)) return spec_fail(p, "a Categorical lacks 'vocabulary'");
    if (wcj_type(d, v) != J_NULL) {
        if (wcj_type(d, v) != J_ARRAY) return spec_fail(p, "a vocabulary must be an array");
        if (!no_buckets) return spec_fail(p, "a Categorical has both n_buckets and a vocabulary");
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

static int parse_component(spec_parse *p, size_t obj, component *c)
{
    size_t v;
    int rc;
    if ((rc = get_name(p, obj, "column", &c->column_name, &c->column_name_len, NULL)) != WC_OK) return rc;
    if ((rc = get_name(p, obj, "name", &c->name, &c->name_len, NULL)) != WC_OK) return rc;
    wcj_get(p->d, obj, "type", &v);
    if (wcj_string_is(p->d, v, "bucketize", 9)) return parse_bucketize(p, obj, c);
    return parse_categorical(p, obj, c);
}

static int push_slot(spec_parse *p, size_t pos)
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
static int collect_components(spec_parse *p, size_t obj, int depth)
{
    const jdoc *d = p->d;
    size_t v, pos, first = p->n_slot_pos;
    int rc, more;
    if (wcj_type(d, obj) != J_OBJECT || !wcj_get(d, obj, "type", &v) || wcj_type(d, v) != J_STRING)
        return spec_fail(p, "not a feature description");
    if (wcj_string_is(d, v, "bucketize", 9) || wcj_string_is(d, v, "categorical", 11)) return push_slot(p, obj);
    if (!wcj_string_is(d, v, "cross", 5)) return spec_fail(p, "not a feature description (unknown type)");
    if (depth > JSON_MAX_DEPTH) return spec_fail(p, "crosses nested too deeply");
    if (!wcj_get(d, obj, "features", &v) || wcj_type(d, v) != J_ARRAY)
        return spec_fail(p, "a Cross needs an array of 'features'");
    more = wcj_first(d, v, &pos);
    while (more) {
        if ((rc = collect_components(p, pos, depth + 1)) != WC_OK) return rc;
        more = wcj_next(d, &pos, 0);
    }
    if (p->n_slot_pos - first < 2) return spec_fail(p, "a Cross needs at least 2 features");
    /* the name is validated (Python checks it) but kept only for top-level features */
    if (!wcj_get(d, obj, "name", &v) || wcj_type(d, v) != J_STRING || wcj_skip(d, v) - v == 2)
        return spec_fail(p, "a Cross's 'name' must be a non-empty string");
    return WC_OK;
}

static size_t pow2_at_least(size_t n)
{
    size_t cap = 2;
    while (cap < n) cap <<= 1;
    return cap;
}

/* Number the components' columns in order of first appearance and set their flags. */
static int number_columns(spec_parse *p)
{
    wc_model *m = p->m;
    size_t cap = pow2_at_least(2 * m->n_components), s, *table;
    unsigned char *not_text;
    table = (size_t *)calloc(cap, sizeof(size_t));
    not_text = (unsigned char *)calloc(m->n_components + 1, 1);
    m->column_name = (const char **)wci_alloc(m, m->n_components, sizeof(char *));
    m->column_len = (size_t *)wci_alloc(m, m->n_components, sizeof(size_t));
    m->column_flags = (unsigned *)wci_alloc(m, m->n_components, sizeof(unsigned));
    if (!table || !not_text || !m->column_name || !m->column_len || !m->column_flags) {
        free(table);
        free(not_text);
        return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    }
    for (s = 0; s < m->n_slots; s++) {
        component *c = &m->components[m->slot_comp[s]];
        size_t k = (size_t)fnv1a64(c->column_name, c->column_name_len) & (cap - 1);
        for (;;) {
            size_t j = table[k];
            if (j == 0) {
                j = m->n_columns++;
                table[k] = j + 1;
                m->column_name[j] = c->column_name;
                m->column_len[j] = c->column_name_len;
                c->column = j;
                break;
            }
            j--;
            if (m->column_len[j] == c->column_name_len &&
                memcmp(m->column_name[j], c->column_name, c->column_name_len) == 0) {
                c->column = j;
                break;
            }
            k = (k + 1) & (cap - 1);
        }
        if (c->kind == COMP_CATEGORICAL) {
            size_t e;
            int text_only = c->vocab_len >= 0;
            for (e = 0; text_only && c->vocab && e <= c->vocab_mask; e++)
                if (c->vocab[e].type != VOCAB_EMPTY && c->vocab[e].type != VOCAB_TEXT) text_only = 0;
            m->column_flags[c->column] |= WC_COLUMN_CATEGORICAL;
            if (!text_only) not_text[c->column] = 1;
        } else {
            m->column_flags[c->column] |= WC_COLUMN_NUMERIC;
        }
    }
    for (s = 0; s < m->n_columns; s++)
        if ((m->column_flags[s] & WC_COLUMN_CATEGORICAL) && !not_text[s]) m->column_flags[s] |= WC_COLUMN_TEXT;
    free(table);
    free(not_text);
    return WC_OK;
}

/* One component per distinct component text (equal text: equal definition, bucketed once). */
static int find_components(spec_parse *p)
{
    wc_model *m = p->m;
    const jdoc *d = p->d;
    size_t n = p->n_slot_pos, cap = pow2_at_least(2 * n), s, *table, *first;
    int rc = WC_OK;
    table = (size_t *)calloc(cap, sizeof(size_t));
    first = (size_t *)calloc(n, sizeof(size_t));
    m->slot_comp = (size_t *)wci_alloc(m, n, sizeof(size_t));
    m->slot_radix = (int64_t *)wci_alloc(m, n, sizeof(int64_t));
    if (!table || !first || !m->slot_comp || !m->slot_radix) {
        free(table);
        free(first);
        return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    }
    m->n_slots = n;
    for (s = 0; s < n; s++) {
        size_t pos = p->slot_pos[s], len = wcj_skip(d, pos) - pos;
        size_t k = (size_t)fnv1a64(d->s + pos, len) & (cap - 1);
        for (;;) {
            size_t other = table[k];
            if (other == 0) {
                table[k] = s + 1;
                first[m->n_components] = pos;
                m->slot_comp[s] = m->n_components++;
                break;
            }
            other = p->slot_pos[other - 1];
            if (wcj_skip(d, other) - other == len && memcmp(d->s + other, d->s + pos, len) == 0) {
                m->slot_comp[s] = m->slot_comp[table[k] - 1];
                break;
            }
            k = (k + 1) & (cap - 1);
        }
    }
    m->components = (component *)wci_alloc(m, m->n_components, sizeof(component));
    if (!m->components) rc = wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    for (s = 0; rc == WC_OK && s < m->n_components; s++) rc = parse_component(p, first[s], &m->components[s]);
    free(table);
    free(first);
    return rc;
}

/* Feature names must be distinct: they seed the hash. */
static int check_feature_names(spec_parse *p)
{
    wc_model *m = p->m;
    size_t cap = pow2_at_least(2 * m->n_feats), f, *table = (size_t *)calloc(cap, sizeof(size_t));
    if (!table) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    for (f = 0; f < m->n_feats; f++) {
        const feature *ft = &m->feats[f];
        size_t k = (size_t)fnv1a64(ft->name, ft->name_len) & (cap - 1);
        while (table[k]) {
            const feature *o = &m->feats[table[k] - 1];
            if (o->name_len == ft->name_len && memcmp(o->name, ft->name, ft->name_len) == 0) {
                char q[96];
                free(table);
                return spec_fail(p, "feature names must be unique; repeated: %s", wci_quoted(q, sizeof q, ft->name, ft->name_len));
            }
            k = (k + 1) & (cap - 1);
        }
        table[k] = f + 1;
    }
    free(table);
    return WC_OK;
}

/* Exact indexing: offsets and radices; hashed: the seeded bases. Sets *width. */
static int place_features(spec_parse *p, int bits, uint64_t seed, uint64_t *width)
{
    wc_model *m = p->m;
    uint64_t offset = 0, seed_mix = mix64(seed + GOLDEN);
    size_t f, s;
    for (f = 0; f < m->n_feats; f++) {
        feature *ft = &m->feats[f];
        size_t v;
        int lone = 0;
        wcj_get(p->d, p->feat_pos[f], "name", &v);
        ft->name = arena_string(m, p->d, v, &ft->name_len, &lone);
        if (bits) {
            if (lone) return spec_fail(p, "a hashed feature's name is not encodable as UTF-8 (a lone surrogate)");
            ft->base = mix64(fnv1a64(ft->name, ft->name_len) ^ seed_mix);
            continue;
        }
        {
            uint64_t size = 1;
            for (s = ft->first_slot; s < ft->first_slot + ft->n_slots; s++) {
                const component *c = &m->components[m->slot_comp[s]];
                if (c->size < 0) {
                    char q[96];
                    return spec_fail(p, "exact indexing (bits null) needs a bounded number of ids; %s has none",
                                     wci_quoted(q, sizeof q, c->name, c->name_len));
                }
                m->slot_radix[s] = c->size;
                if (size > INT64_MAX_U / (uint64_t)c->size) return spec_fail(p, "exact indexing needs more than 2**63 - 1 columns");
                size *= (uint64_t)c->size;
            }
            if (offset > INT64_MAX_U - size) return spec_fail(p, "exact indexing needs more than 2**63 - 1 columns");
            ft->base = offset;
            offset += size;
        }
    }
    *width = bits ? (uint64_t)1 << bits : offset;
    return check_feature_names(p);
}

static int parse_spec_features(spec_parse *p, size_t features)
{
    wc_model *m = p->m;
    size_t pos, f = 0;
    int more, rc;
    m->n_feats = wcj_count(p->d, features);
    if (m->n_feats == 0) return spec_fail(p, "a FeatureSpec needs at least one feature");
    m->feats = (feature *)wci_alloc(m, m->n_feats, sizeof(feature));
    p->feat_pos = (size_t *)calloc(m->n_feats, sizeof(size_t));
    if (!m->feats || !p->feat_pos) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    more = wcj_first(p->d, features, &pos);
    while (more) {
        m->feats[f].first_slot = p->n_slot_pos;
        p->feat_pos[f] = pos;
        if ((rc = collect_components(p, pos, 0)) != WC_OK) return rc;
        m->feats[f].n_slots = p->n_slot_pos - m->feats[f].first_slot;
        f++;
        more = wcj_next(p->d, &pos, 0);
    }
    if ((rc = find_components(p)) != WC_OK) return rc;
    return number_columns(p);
}

int wci_parse_spec(wc_model *m, const jdoc *d, size_t spec, uint64_t n_features, char *err, size_t err_size)
{
    spec_parse p;
    size_t v, features;
    jnum num;
    int rc, bits = 0;
    uint64_t seed, width = 0;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.m = m;
    p.err = err;
    p.err_size = err_size;
    if (!wcj_get(d, spec, "format", &v) || wcj_type(d, v) != J_STRING || !wcj_string_is(d, v, "widecross.FeatureSpec", 21))
        return spec_fail(&p, "not a widecross feature spec (its 'format' is not \"widecross.FeatureSpec\")");
    /* Python compares with == 1, which 1.0 and true also pass */
    if (!wcj_get(d, spec, "version", &v)) return spec_fail(&p, "feature spec format version None is not supported");
    if (wcj_type(d, v) != J_TRUE) {
        if (wcj_type(d, v) != J_NUMBER) return spec_fail(&p, "feature spec format version is not 1");
        if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
        if (num.is_int ? num.big || num.negative || num.magnitude != 1 : num.value != 1.0)
            return spec_fail(&p, "feature spec format version is not 1");
    }
    if (!wcj_get(d, spec, "features", &features) || wcj_type(d, features) != J_ARRAY)
        return spec_fail(&p, "'features' must be an array of feature descriptions");
    {
        int64_t b;
        int is_null;
        if ((rc = get_int(&p, spec, "bits", 1, 40, 1, &b, &is_null)) != WC_OK) return rc;
        bits = is_null ? 0 : (int)b;
    }
    if (!wcj_get(d, spec, "seed", &v) || wcj_type(d, v) != J_NUMBER) return spec_fail(&p, "'seed' must be an integer");
    if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    if (!wcj_int_range(&num, 0, UINT64_MAX)) return spec_fail(&p, "'seed' must be an integer in [0, 2**64 - 1]");
    seed = num.magnitude;
    m->arena_size = 2 * (wcj_skip(d, spec) - spec) + 16;
    m->arena = (char *)wci_alloc(m, m->arena_size, 1);
    if (!m->arena) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    rc = parse_spec_features(&p, features);
    if (rc == WC_OK) rc = place_features(&p, bits, seed, &width);
    free(p.slot_pos);
    free(p.feat_pos);
    if (rc != WC_OK) return rc;
    if (width != n_features)
        return wci_report(err, err_size, WC_ERR_FORMAT,
                      "inconsistent model: n_features=%llu does not match spec.n_features=%llu",
                      (unsigned long long)n_features, (unsigned long long)width);
    m->bits = bits;
    m->has_spec = 1;
    return WC_OK;
}
