/*
 * wc_spec.c: the FeatureSpec stored in the metadata as a whole: its top-level fields, the
 * component / feature / slot tables prediction reads (equal components bucketed once), the
 * columns a row must give, and the exact offsets or hashed bases of the features
 * (docs/format.md, "The feature spec"). wc_features.c reads the feature objects.
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

int wci_spec_fail(wci_spec_parse *p, const char *fmt, ...)
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

/*
 * Copy the JSON string at i into the model's arena, sized at twice the spec's text: each string
 * token is copied at most twice (a feature's name, once as a component and once as a feature),
 * and decodes to fewer bytes than it has. Should that ever not hold, the copy is refused and the
 * spec with it (arena_full), rather than written past the end.
 */
const char *wci_arena_string(wc_model *m, const jdoc *d, size_t i, size_t *len, int *lone)
{
    char *out = m->arena + m->arena_used;
    if (m->arena_size - m->arena_used < wcj_skip(d, i) - i) {
        m->arena_full = 1;
        *len = 0;
        if (lone) *lone = 0;
        return "";
    }
    *len = wcj_string(d, i, out, lone);
    out[*len] = '\0';
    m->arena_used += *len + 1;
    return out;
}

int wci_spec_int(wci_spec_parse *p, size_t obj, const char *key, int64_t low, uint64_t high, int nullable, int64_t *out,
                 int *is_null)
{
    size_t v;
    jnum num;
    if (!wcj_get(p->d, obj, key, &v)) return wci_spec_fail(p, "'%s' is missing", key);
    if (is_null) *is_null = 0;
    if (nullable && wcj_type(p->d, v) == J_NULL) {
        *is_null = 1;
        return WC_OK;
    }
    if (wcj_type(p->d, v) != J_NUMBER) return wci_spec_fail(p, "'%s' must be an integer", key);
    if (!wcj_number(p->d, v, &num)) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    if (!wcj_int_range(&num, low, high))
        return wci_spec_fail(p, "'%s' must be an integer in [%lld, %llu]", key, (long long)low,
                             (unsigned long long)high);
    *out = wcj_int64(&num);
    return WC_OK;
}

static size_t pow2_at_least(size_t n)
{
    size_t cap = 2;
    while (cap < n) cap <<= 1;
    return cap;
}

/* Number the components' columns in order of first appearance and set their flags. */
static int number_columns(wci_spec_parse *p)
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
static int find_components(wci_spec_parse *p)
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
    for (s = 0; rc == WC_OK && s < m->n_components; s++) rc = wci_parse_component(p, first[s], &m->components[s]);
    free(table);
    free(first);
    return rc;
}

/* Feature names must be distinct: they seed the hash. */
static int check_feature_names(wci_spec_parse *p)
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
                return wci_spec_fail(p, "feature names must be unique; repeated: %s",
                                     wci_quoted(q, sizeof q, ft->name, ft->name_len));
            }
            k = (k + 1) & (cap - 1);
        }
        table[k] = f + 1;
    }
    free(table);
    return WC_OK;
}

/* Exact indexing: offsets and radices; hashed: the seeded bases. Sets *width. */
static int place_features(wci_spec_parse *p, int bits, uint64_t seed, uint64_t *width)
{
    wc_model *m = p->m;
    uint64_t offset = 0, seed_mix = mix64(seed + GOLDEN);
    size_t f, s;
    for (f = 0; f < m->n_feats; f++) {
        feature *ft = &m->feats[f];
        size_t v;
        int lone = 0;
        wcj_get(p->d, p->feat_pos[f], "name", &v);
        ft->name = wci_arena_string(m, p->d, v, &ft->name_len, &lone);
        if (bits) {
            if (lone) return wci_spec_fail(p, "a hashed feature's name is not encodable as UTF-8 (a lone surrogate)");
            ft->base = mix64(fnv1a64(ft->name, ft->name_len) ^ seed_mix);
            continue;
        }
        {
            uint64_t size = 1;
            for (s = ft->first_slot; s < ft->first_slot + ft->n_slots; s++) {
                const component *c = &m->components[m->slot_comp[s]];
                if (c->size < 0) {
                    char q[96];
                    return wci_spec_fail(p, "exact indexing (bits null) needs a bounded number of ids; %s has none",
                                         wci_quoted(q, sizeof q, c->name, c->name_len));
                }
                m->slot_radix[s] = c->size;
                if (size > INT64_MAX_U / (uint64_t)c->size)
                    return wci_spec_fail(p, "exact indexing needs more than 2**63 - 1 columns");
                size *= (uint64_t)c->size;
            }
            if (offset > INT64_MAX_U - size)
                return wci_spec_fail(p, "exact indexing needs more than 2**63 - 1 columns");
            ft->base = offset;
            offset += size;
        }
    }
    *width = bits ? (uint64_t)1 << bits : offset;
    return check_feature_names(p);
}

static int parse_spec_features(wci_spec_parse *p, size_t features)
{
    wc_model *m = p->m;
    size_t pos, f = 0;
    int more, rc;
    m->n_feats = wcj_count(p->d, features);
    if (m->n_feats == 0) return wci_spec_fail(p, "a FeatureSpec needs at least one feature");
    m->feats = (feature *)wci_alloc(m, m->n_feats, sizeof(feature));
    p->feat_pos = (size_t *)calloc(m->n_feats, sizeof(size_t));
    if (!m->feats || !p->feat_pos) return wci_report(p->err, p->err_size, WC_ERR_MEMORY, "out of memory");
    more = wcj_first(p->d, features, &pos);
    while (more) {
        m->feats[f].first_slot = p->n_slot_pos;
        p->feat_pos[f] = pos;
        if ((rc = wci_collect_components(p, pos, 0)) != WC_OK) return rc;
        m->feats[f].n_slots = p->n_slot_pos - m->feats[f].first_slot;
        f++;
        more = wcj_next(p->d, &pos, 0);
    }
    if ((rc = find_components(p)) != WC_OK) return rc;
    return number_columns(p);
}

int wci_parse_spec(wc_model *m, const jdoc *d, size_t spec, uint64_t n_features, char *err, size_t err_size)
{
    wci_spec_parse p;
    size_t v, features;
    jnum num;
    int rc, bits = 0;
    uint64_t seed, width = 0;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.m = m;
    p.err = err;
    p.err_size = err_size;
    if (!wcj_get(d, spec, "format", &v) || wcj_type(d, v) != J_STRING ||
        !wcj_string_is(d, v, "widecross.FeatureSpec", 21))
        return wci_spec_fail(&p, "not a widecross feature spec (its 'format' is not \"widecross.FeatureSpec\")");
    /* an integer, as Python's reader requires: true and 1.0 are refused, as there */
    if (!wcj_get(d, spec, "version", &v)) return wci_spec_fail(&p, "feature spec format version None is not supported");
    if (wcj_type(d, v) != J_NUMBER) return wci_spec_fail(&p, "feature spec format version is not 1");
    if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    if (num.is_int && !num.big && !num.negative && num.magnitude == 2)
        return wci_spec_fail(&p, "feature spec format version 2 is not supported: this reader computes "
                                 "version 1 (bucketize, categorical and their crosses); version 2 adds "
                                 "numeric and tokens columns, vocabularies learned by fit and crosses "
                                 "naming their components");
    if (!num.is_int || num.big || num.negative || num.magnitude != 1)
        return wci_spec_fail(&p, "feature spec format version is not 1");
    if (!wcj_get(d, spec, "features", &features) || wcj_type(d, features) != J_ARRAY)
        return wci_spec_fail(&p, "'features' must be an array of feature descriptions");
    {
        int64_t b;
        int is_null;
        if ((rc = wci_spec_int(&p, spec, "bits", 1, 40, 1, &b, &is_null)) != WC_OK) return rc;
        bits = is_null ? 0 : (int)b;
    }
    if (!wcj_get(d, spec, "seed", &v) || wcj_type(d, v) != J_NUMBER)
        return wci_spec_fail(&p, "'seed' must be an integer");
    if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    if (!wcj_int_range(&num, 0, UINT64_MAX)) return wci_spec_fail(&p, "'seed' must be an integer in [0, 2**64 - 1]");
    seed = num.magnitude;
    m->arena_size = 2 * (wcj_skip(d, spec) - spec) + 16;
    m->arena = (char *)wci_alloc(m, m->arena_size, 1);
    if (!m->arena) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    rc = parse_spec_features(&p, features);
    if (rc == WC_OK) rc = place_features(&p, bits, seed, &width);
    free(p.slot_pos);
    free(p.feat_pos);
    if (rc == WC_OK && m->arena_full)
        rc = wci_report(err, err_size, WC_ERR_FORMAT, "the feature spec's text is inconsistent");
    if (rc != WC_OK) return rc;
    if (width != n_features)
        return wci_report(err, err_size, WC_ERR_FORMAT,
                          "inconsistent model: n_features=%llu does not match spec.n_features=%llu",
                          (unsigned long long)n_features, (unsigned long long)width);
    m->bits = bits;
    m->has_spec = 1;
    return WC_OK;
}
