/*
 * wc_load.c: the file layout (preamble, section table, checksums, sizes) and the metadata
 * fields, checked in the order docs/format.md gives before anything is allocated from them;
 * wc_load_file, wc_load_memory, wc_free.
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

static const unsigned char MAGIC[8] = {0x89, 'W', 'C', 'M', '\r', '\n', 0x1a, '\n'};
const char *const wci_loss_names[4] = {"logistic", "hinge", "squared", "poisson"};
static const char *const ENCODING_NAMES[] = {"float32", "float16", "q8"};

/* ----------------------------------------------------------------------- metadata */

typedef struct {
    uint64_t n_features, nnz;
    double intercept;
    int loss, encoding;
    size_t spec, classes, metadata, facts_root;
    int has_spec, has_classes;
} meta_fields;

/* The named member, which must have one of the allowed JSON types (bit mask of J_*). */
static int meta_member(const jdoc *d, size_t root, const char *key, unsigned allowed, size_t *v, char *err,
                       size_t err_size)
{
    if (!wcj_get(d, root, key, v)) return wci_report(err, err_size, WC_ERR_FORMAT, "the metadata lacks '%s'", key);
    if (!((1u << wcj_type(d, *v)) & allowed))
        return wci_report(err, err_size, WC_ERR_FORMAT, "metadata '%s' has the wrong type", key);
    return WC_OK;
}

static int meta_string_choice(const jdoc *d, size_t v, const char *const *names, int n)
{
    int k;
    for (k = 0; k < n; k++)
        if (wcj_string_is(d, v, names[k], strlen(names[k]))) return k;
    return -1;
}

/* Python's == between two JSON scalars (str, int, float, bool) of the class labels. */
static int labels_equal(const jdoc *d, size_t a, size_t b, int *oom)
{
    int ta = wcj_type(d, a), tb = wcj_type(d, b);
    jnum na, nb;
    if (ta == J_STRING || tb == J_STRING) {
        size_t la = wcj_skip(d, a) - a, lb = wcj_skip(d, b) - b, len_a, len_b;
        char *sa, *sb;
        int equal;
        if (ta != tb) return 0;
        sa = (char *)malloc(la + lb);
        if (!sa) {
            *oom = 1;
            return 0;
        }
        sb = sa + la;
        len_a = wcj_string(d, a, sa, NULL);
        len_b = wcj_string(d, b, sb, NULL);
        equal = len_a == len_b && memcmp(sa, sb, len_a) == 0;
        free(sa);
        return equal;
    }
    memset(&na, 0, sizeof na);
    memset(&nb, 0, sizeof nb);
    if (ta == J_TRUE || ta == J_FALSE) {
        na.is_int = 1;
        na.magnitude = ta == J_TRUE;
    } else if (!wcj_number(d, a, &na)) {
        *oom = 1;
        return 0;
    }
    if (tb == J_TRUE || tb == J_FALSE) {
        nb.is_int = 1;
        nb.magnitude = tb == J_TRUE;
    } else if (!wcj_number(d, b, &nb)) {
        *oom = 1;
        return 0;
    }
    if (na.is_int && nb.is_int) {
        if (na.big || nb.big)
            return na.big && nb.big && na.len == nb.len && memcmp(d->s + na.start, d->s + nb.start, na.len) == 0;
        return na.negative == nb.negative && na.magnitude == nb.magnitude;
    }
    if (!na.is_int && !nb.is_int) return na.value == nb.value;
    {
        const jnum *i = na.is_int ? &na : &nb, *f = na.is_int ? &nb : &na;
        double x = f->value;
        if (i->big || !isfinite(x) || x != floor(x) || fabs(x) >= 18446744073709551616.0) return 0;
        return (x < 0) == (i->negative != 0) && (uint64_t)fabs(x) == i->magnitude;
    }
}

static int check_classes(const jdoc *d, size_t v, int loss, char *err, size_t err_size)
{
    size_t first, second;
    int oom = 0, t1, t2;
    if (loss == LOSS_SQUARED || loss == LOSS_POISSON)
        return wci_report(err, err_size, WC_ERR_FORMAT,
                          "inconsistent model: classes are only meaningful for classifiers");
    if (wcj_count(d, v) != 2)
        return wci_report(err, err_size, WC_ERR_FORMAT, "inconsistent model: classes must hold exactly 2 labels");
    wcj_first(d, v, &first);
    second = first;
    wcj_next(d, &second, 0);
    t1 = wcj_type(d, first);
    t2 = wcj_type(d, second);
    if (t1 == J_NULL || t1 == J_ARRAY || t1 == J_OBJECT || t2 == J_NULL || t2 == J_ARRAY || t2 == J_OBJECT)
        return wci_report(err, err_size, WC_ERR_FORMAT,
                          "inconsistent model: class labels must be str, int, float or bool");
    if (labels_equal(d, first, second, &oom))
        return wci_report(err, err_size, WC_ERR_FORMAT, "inconsistent model: the 2 class labels must differ");
    if (oom) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    return WC_OK;
}

static int parse_meta(const jdoc *d, meta_fields *f, char *err, size_t err_size)
{
    static const char *const strings[] = {"library_version", "loss", "index_codec", "value_encoding"};
    size_t root, v;
    const char *why = wcj_validate(d, &root);
    jnum num;
    int rc, k, oom = 0;
    const unsigned num_mask = 1u << J_NUMBER, str_mask = 1u << J_STRING;
    memset(f, 0, sizeof *f);
    if (why) return wci_report(err, err_size, WC_ERR_FORMAT, "the metadata is not valid UTF-8 JSON: %s", why);
    if (wcj_type(d, root) != J_OBJECT)
        return wci_report(err, err_size, WC_ERR_FORMAT, "the metadata is not a JSON object");
    f->facts_root = root;
    for (k = 0; k < 4; k++)
        if ((rc = meta_member(d, root, strings[k], str_mask, &v, err, err_size)) != WC_OK) return rc;
    if ((rc = meta_member(d, root, "n_features", num_mask, &v, err, err_size)) != WC_OK) return rc;
    if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    if (!num.is_int) return wci_report(err, err_size, WC_ERR_FORMAT, "metadata 'n_features' has the wrong type");
    if (!wcj_int_range(&num, 1, INT64_MAX_U))
        return wci_report(err, err_size, WC_ERR_FORMAT, "n_features is out of range");
    f->n_features = num.magnitude;
    if ((rc = meta_member(d, root, "nnz", num_mask, &v, err, err_size)) != WC_OK) return rc;
    if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    if (!num.is_int) return wci_report(err, err_size, WC_ERR_FORMAT, "metadata 'nnz' has the wrong type");
    if (!wcj_int_range(&num, 0, f->n_features))
        return wci_report(err, err_size, WC_ERR_FORMAT, "nnz is out of range for n_features");
    f->nnz = num.magnitude;
    if ((rc = meta_member(d, root, "intercept", num_mask, &v, err, err_size)) != WC_OK) return rc;
    if (!wcj_number(d, v, &num)) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    f->intercept = num.value;
    if ((rc = meta_member(d, root, "classes", 1u << J_ARRAY | 1u << J_NULL, &f->classes, err, err_size)) != WC_OK)
        return rc;
    f->has_classes = wcj_type(d, f->classes) == J_ARRAY;
    if ((rc = meta_member(d, root, "spec", 1u << J_OBJECT | 1u << J_NULL, &f->spec, err, err_size)) != WC_OK) return rc;
    f->has_spec = wcj_type(d, f->spec) == J_OBJECT;
    if ((rc = meta_member(d, root, "metadata", 1u << J_OBJECT, &f->metadata, err, err_size)) != WC_OK) return rc;
    wcj_get(d, root, "loss", &v);
    if ((f->loss = meta_string_choice(d, v, wci_loss_names, 4)) < 0)
        return wci_report(err, err_size, WC_ERR_FORMAT, "unknown loss");
    wcj_get(d, root, "index_codec", &v);
    if (!wcj_string_is(d, v, "rice64", 6))
        return wci_report(err, err_size, WC_ERR_FORMAT, "unknown index codec (this reader reads 'rice64')");
    wcj_get(d, root, "value_encoding", &v);
    if ((f->encoding = meta_string_choice(d, v, ENCODING_NAMES, 3)) < 0)
        return wci_report(err, err_size, WC_ERR_FORMAT, "unknown value encoding (known: float32, float16, q8)");
    if (!isfinite(f->intercept))
        return wci_report(err, err_size, WC_ERR_FORMAT, "inconsistent model: intercept must be finite");
    if (f->has_classes && (rc = check_classes(d, f->classes, f->loss, err, err_size)) != WC_OK) return rc;
    if (wcj_has_nonfinite(d, f->metadata, &oom))
        return oom ? wci_report(err, err_size, WC_ERR_MEMORY, "out of memory")
                   : wci_report(err, err_size, WC_ERR_FORMAT,
                                "inconsistent model: the metadata holds a non-finite number");
    return WC_OK;
}

/* ----------------------------------------------------------------------- loading */

typedef struct {
    const unsigned char *mem; /* a model in memory, or */
    FILE *file;               /* a file read front to back */
    uint64_t size;
    const char *name;
} source;

/* The next n bytes of the source: a pointer into memory, or a fresh buffer in *owned. */
static int source_read(source *src, uint64_t offset, size_t n, const unsigned char **out, unsigned char **owned,
                       char *err, size_t err_size)
{
    *owned = NULL;
    if (src->mem) {
        *out = src->mem + offset;
        return WC_OK;
    }
    *owned = (unsigned char *)malloc(n ? n : 1);
    if (!*owned) return wci_report(err, err_size, WC_ERR_MEMORY, "%s: out of memory", src->name);
    if (n && fread(*owned, 1, n, src->file) != n) {
        free(*owned);
        *owned = NULL;
        return wci_report(err, err_size, WC_ERR_IO, "%s: could not read %llu bytes at offset %llu (the file shrank?)",
                          src->name, (unsigned long long)n, (unsigned long long)offset);
    }
    *out = *owned;
    return WC_OK;
}

static const char *foreign_format(const unsigned char *head, size_t n)
{
    static const struct {
        const char *prefix;
        size_t len;
        const char *what;
    } known[] = {{"PK\x03\x04", 4, "a zip archive (for example a NumPy .npz)"},
                 {"\x93NUMPY", 6, "a NumPy .npy array"},
                 {"\x80", 1, "a Python pickle"},
                 {"\x1f\x8b", 2, "a gzip file"},
                 {"PAR1", 4, "a Parquet file"},
                 {"{", 1, "a JSON document"}};
    size_t k;
    for (k = 0; k < sizeof known / sizeof known[0]; k++)
        if (n >= known[k].len && memcmp(head, known[k].prefix, known[k].len) == 0) return known[k].what;
    return NULL;
}

static int bit_length(uint64_t x)
{
    int n = 0;
    while (x) {
        x >>= 1;
        n++;
    }
    return n;
}

static int build_directory(wc_model *m, char *err, size_t err_size)
{
    int width_bits = bit_length(m->n_features - 1), dir_bits = 0;
    uint64_t n_buckets, b, pos = 0;
    while (((uint64_t)1 << (dir_bits + 1)) * 4u <= m->nnz && dir_bits < width_bits) dir_bits++;
    m->shift = (unsigned)(width_bits - dir_bits);
    n_buckets = (uint64_t)1 << dir_bits;
    m->directory = (uint32_t *)wci_alloc(m, (size_t)n_buckets + 1, sizeof(uint32_t));
    if (!m->directory) return wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
    for (b = 0; b <= n_buckets; b++) {
        while (pos < m->nnz && (wci_id(m, (size_t)pos) >> m->shift) < b) pos++;
        m->directory[b] = (uint32_t)pos;
    }
    return WC_OK;
}

typedef struct {
    uint64_t length;
    uint32_t crc;
} section_entry;

/* Preamble and section table: checked in the order docs/format.md gives. */
static int read_header(source *src, section_entry *sections, char *err, size_t err_size)
{
    unsigned char head[HEADER_SIZE] = {0};
    const unsigned char *p = NULL;
    unsigned char *owned;
    uint32_t version, count, k;
    uint64_t total = HEADER_SIZE;
    size_t got = src->size < PREAMBLE_SIZE ? (size_t)src->size : PREAMBLE_SIZE;
    int rc;
    const char *what;
    if (src->size == 0)
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: the file is empty (0 bytes), not a widecross model",
                          src->name);
    if ((rc = source_read(src, 0, got, &p, &owned, err, err_size)) != WC_OK) return rc;
    memcpy(head, p, got);
    free(owned);
    if (got < 8 && memcmp(head, MAGIC, got) == 0)
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: truncated: %llu bytes, shorter than the 16-byte preamble",
                          src->name, (unsigned long long)src->size);
    if (memcmp(head, MAGIC, 8) != 0) {
        if ((what = foreign_format(head, got)) != NULL)
            return wci_report(err, err_size, WC_ERR_FORMAT, "%s: not a widecross model file: it looks like %s",
                              src->name, what);
        if (memcmp(head, MAGIC, 4) == 0)
            return wci_report(err, err_size, WC_ERR_FORMAT,
                              "%s: not a widecross model file: the magic bytes are damaged (text-mode transfer?)",
                              src->name);
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: not a widecross model file (wrong magic bytes)",
                          src->name);
    }
    if (src->size < PREAMBLE_SIZE)
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: truncated: %llu bytes, shorter than the 16-byte preamble",
                          src->name, (unsigned long long)src->size);
    version = le32(head + 8);
    count = le32(head + 12);
    if (version > WC_FORMAT_VERSION)
        return wci_report(err, err_size, WC_ERR_VERSION,
                          "%s: format version %lu is newer than this reader can read (up to version %d)", src->name,
                          (unsigned long)version, WC_FORMAT_VERSION);
    if (version != WC_FORMAT_VERSION)
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: unsupported format version %lu", src->name,
                          (unsigned long)version);
    if (count != N_SECTIONS)
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: the header lists %lu sections (%s)", src->name,
                          (unsigned long)count, count <= MAX_SECTIONS ? "expected 3" : "corrupted");
    if (src->size < HEADER_SIZE)
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: truncated: %llu bytes, shorter than the %u-byte header",
                          src->name, (unsigned long long)src->size, HEADER_SIZE);
    if ((rc = source_read(src, PREAMBLE_SIZE, HEADER_SIZE - PREAMBLE_SIZE, &p, &owned, err, err_size)) != WC_OK)
        return rc;
    memcpy(head + PREAMBLE_SIZE, p, HEADER_SIZE - PREAMBLE_SIZE);
    free(owned);
    if (wci_crc32(head, HEADER_SIZE - 4) != le32(head + HEADER_SIZE - 4))
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: the header checksum does not match (corrupted header)",
                          src->name);
    for (k = 0; k < N_SECTIONS; k++) {
        const unsigned char *entry = head + PREAMBLE_SIZE + ENTRY_SIZE * k;
        static const char tags[3][5] = {"META", "INDX", "VALS"};
        if (memcmp(entry, tags[k], 4) != 0)
            return wci_report(err, err_size, WC_ERR_FORMAT, "%s: unexpected sections, expected META, INDX, VALS",
                              src->name);
        sections[k].length = le64(entry + 4);
        sections[k].crc = le32(entry + 12);
        /* Python's integers cannot overflow; the sum is checked so that a wrapped total never passes */
        if (sections[k].length > UINT64_MAX - total)
            total = UINT64_MAX;
        else
            total += sections[k].length;
    }
    if (total != src->size)
        return wci_report(
            err, err_size, WC_ERR_FORMAT, "%s: %s: the header describes %s%llu bytes but the file has %llu", src->name,
            src->size < total ? "truncated" : "has trailing bytes", total == UINT64_MAX ? "more than " : "",
            (unsigned long long)total, (unsigned long long)src->size);
    if (sections[0].length > MAX_META_BYTES)
        return wci_report(err, err_size, WC_ERR_FORMAT,
                          "%s: the metadata section is %llu bytes, more than the %llu allowed", src->name,
                          (unsigned long long)sections[0].length, (unsigned long long)MAX_META_BYTES);
    return WC_OK;
}

static int read_section(source *src, uint64_t offset, const section_entry *e, const char *tag, const unsigned char **p,
                        unsigned char **owned, char *err, size_t err_size)
{
    int rc;
    if (e->length > SIZE_MAX)
        return wci_report(err, err_size, WC_ERR_MEMORY, "%s: the %s section is too large", src->name, tag);
    if ((rc = source_read(src, offset, (size_t)e->length, p, owned, err, err_size)) != WC_OK) return rc;
    if (wci_crc32(*p, (size_t)e->length) != e->crc) {
        free(*owned);
        *owned = NULL;
        return wci_report(err, err_size, WC_ERR_FORMAT, "%s: the %s section's checksum does not match (corrupted data)",
                          src->name, tag);
    }
    return WC_OK;
}

/* Check nnz against what the index and value sections can hold, before allocating for it. */
static int check_nnz(const source *src, const meta_fields *f, const section_entry *sections, char *err, size_t err_size)
{
    static const unsigned widths[3] = {4, 2, 1};
    uint64_t index_len = sections[1].length;
    if (index_len < UINT64_MAX / 8 && f->nnz > 8 * index_len)
        return wci_report(err, err_size, WC_ERR_FORMAT,
                          "%s: the header claims %llu nonzeros but the index section (%llu bytes) holds at most %llu",
                          src->name, (unsigned long long)f->nnz, (unsigned long long)index_len,
                          (unsigned long long)(8 * index_len));
    if (sections[2].length < (UINT64_MAX - 64) / ZLIB_MAX_RATIO &&
        f->nnz > (ZLIB_MAX_RATIO * sections[2].length + 64) / widths[f->encoding])
        return wci_report(err, err_size, WC_ERR_FORMAT,
                          "%s: the header claims %llu nonzeros but the values section has only %llu bytes", src->name,
                          (unsigned long long)f->nnz, (unsigned long long)sections[2].length);
    if (f->nnz >= UINT32_MAX || f->nnz > SIZE_MAX / 8)
        return wci_report(err, err_size, WC_ERR_MEMORY, "%s: %llu nonzeros are more than this reader can hold",
                          src->name, (unsigned long long)f->nnz);
    return WC_OK;
}

static int load_sections(source *src, wc_model *m, char *err, size_t err_size)
{
    section_entry sections[N_SECTIONS];
    const unsigned char *p = NULL;
    unsigned char *owned = NULL;
    meta_fields f;
    jdoc meta;
    uint64_t offset = HEADER_SIZE;
    unsigned char *meta_owned = NULL;
    int rc;
    const char *why;
    if ((rc = read_header(src, sections, err, err_size)) != WC_OK) return rc;
    if ((rc = read_section(src, offset, &sections[0], "META", &p, &meta_owned, err, err_size)) != WC_OK) return rc;
    offset += sections[0].length;
    meta.s = (const char *)p;
    meta.n = (size_t)sections[0].length;
    rc = parse_meta(&meta, &f, err, err_size);
    if (rc == WC_OK) rc = check_nnz(src, &f, sections, err, err_size);
    if (rc == WC_OK) {
        m->n_features = f.n_features;
        m->nnz = f.nnz;
        m->intercept = f.intercept;
        m->loss = f.loss;
        rc = read_section(src, offset, &sections[1], "INDX", &p, &owned, err, err_size);
        offset += sections[1].length;
    }
    if (rc == WC_OK) {
        if (m->n_features <= (uint64_t)1 << 32) {
            m->entries = (wci_entry *)wci_alloc(m, (size_t)m->nnz, sizeof(wci_entry));
        } else {
            m->ids64 = (uint64_t *)wci_alloc(m, (size_t)m->nnz, sizeof(uint64_t));
            m->values = (float *)wci_alloc(m, (size_t)m->nnz, sizeof(float));
        }
        if (!m->entries && (!m->ids64 || !m->values))
            rc = wci_report(err, err_size, WC_ERR_MEMORY, "out of memory");
        else if ((why = wci_rice_decode(p, (size_t)sections[1].length, m->nnz, m->n_features, m->entries, m->ids64)) !=
                 NULL)
            rc = wci_report(err, err_size, WC_ERR_FORMAT, "%s", why);
        free(owned);
        owned = NULL;
    }
    if (rc == WC_OK) rc = read_section(src, offset, &sections[2], "VALS", &p, &owned, err, err_size);
    if (rc == WC_OK) {
        rc = wci_decode_values(m, p, (size_t)sections[2].length, f.encoding, &meta, f.facts_root, err, err_size);
        free(owned);
    }
    if (rc == WC_OK && f.has_spec) rc = wci_parse_spec(m, &meta, f.spec, m->n_features, err, err_size);
    if (rc == WC_OK) rc = build_directory(m, err, err_size);
    free(meta_owned);
    return rc;
}

/* Prefix a message that does not name the source yet with it. */
static void name_message(const char *name, char *err, size_t err_size)
{
    size_t len = strlen(name), move;
    if (!err || err_size <= len + 3 || strncmp(err, name, len) == 0) return;
    move = strlen(err) + 1;
    if (move > err_size - len - 2) move = err_size - len - 2;
    memmove(err + len + 2, err, move);
    err[err_size - 1] = '\0';
    memcpy(err, name, len);
    err[len] = ':';
    err[len + 1] = ' ';
}

static int load(source *src, wc_model **model, char *err, size_t err_size)
{
    wc_model *m;
    int rc;
    if (err && err_size) err[0] = '\0';
    m = (wc_model *)calloc(1, sizeof(wc_model));
    if (!m) return wci_report(err, err_size, WC_ERR_MEMORY, "%s: out of memory", src->name);
    m->bytes = sizeof(wc_model);
    rc = load_sections(src, m, err, err_size);
    if (rc != WC_OK) {
        name_message(src->name, err, err_size);
        wc_free(m);
        return rc;
    }
    *model = m;
    return WC_OK;
}

int wc_load_memory(const void *data, size_t size, wc_model **model, char *err, size_t err_size)
{
    source src;
    if (!model || (!data && size)) return wci_report(err, err_size, WC_ERR_ARGUMENT, "wc_load_memory: NULL argument");
    *model = NULL;
    memset(&src, 0, sizeof src);
    src.mem = data ? (const unsigned char *)data : (const unsigned char *)"";
    src.size = size;
    src.name = "<memory>";
    return load(&src, model, err, err_size);
}

int wc_load_file(const char *path, wc_model **model, char *err, size_t err_size)
{
    source src;
    long size;
    int rc;
    if (!model || !path) return wci_report(err, err_size, WC_ERR_ARGUMENT, "wc_load_file: NULL argument");
    *model = NULL;
    memset(&src, 0, sizeof src);
    src.name = path;
    src.file = fopen(path, "rb");
    if (!src.file) return wci_report(err, err_size, WC_ERR_IO, "%s: cannot open the file", path);
    if (fseek(src.file, 0, SEEK_END) != 0 || (size = ftell(src.file)) < 0 || fseek(src.file, 0, SEEK_SET) != 0) {
        fclose(src.file);
        return wci_report(err, err_size, WC_ERR_IO, "%s: cannot tell the file's size (not a regular file?)", path);
    }
    src.size = (uint64_t)size;
    rc = load(&src, model, err, err_size);
    fclose(src.file);
    return rc;
}

void wc_free(wc_model *m)
{
    size_t c;
    if (!m) return;
    for (c = 0; m->components && c < m->n_components; c++) {
        free(m->components[c].edges);
        free(m->components[c].vocab);
    }
    free(m->components);
    free(m->entries);
    free(m->ids64);
    free(m->values);
    free(m->directory);
    free(m->column_name);
    free(m->column_len);
    free(m->column_flags);
    free(m->feats);
    free(m->slot_comp);
    free(m->slot_radix);
    free(m->arena);
    free(m);
}
