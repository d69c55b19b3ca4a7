/*
 * Timing driver of benchmarks/bench_c_predict.py: load a model with the C reader and predict
 * every row of a binary file of doubles (n_columns per row, the model's columns in order) with
 * wc_predict_numbers, on one core. Prints one JSON line: CPU seconds of loading and of
 * predicting (clock()), the model's memory, this process's peak RSS (VmHWM, where /proc has it).
 *
 *     bench_c_predict MODEL.wcm ROWS.f64 OUT.f64
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "widecross.h"

static int run_program(const char *report, char **argv)
{
    struct rusage usage;
    int status;
    FILE *f;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || getrusage(RUSAGE_CHILDREN, &usage) != 0) return 1;
    f = fopen(report, "w");
    if (!f) return 1;
    fprintf(f, "{\"process_cpu_s\": %.6f, \"peak_rss_mb\": %.3f}\n",
            (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
                usage.ru_stime.tv_usec / 1e6,
            usage.ru_maxrss / 1024.0);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static double peak_rss_mb(void)
{
    char line[256];
    double kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = atof(line + 6);
    fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}

static double *read_doubles(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    double *data;
    long bytes;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (bytes = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) return NULL;
    data = (double *)malloc((size_t)bytes + 1);
    *n = (size_t)bytes / sizeof(double);
    if (!data || fread(data, sizeof(double), *n, f) != *n) return NULL;
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    wc_model *m;
    char err[512];
    size_t n_values, n_columns, n_rows, i;
    double *rows, *out, margin;
    clock_t t0;
    double load_s, predict_s;
    FILE *f;
    if (argc >= 4 && strcmp(argv[1], "--run") == 0) return run_program(argv[2], argv + 3);
    if (argc != 4) {
        fprintf(stderr, "usage: bench_c_predict MODEL.wcm ROWS.f64 OUT.f64\n");
        return 2;
    }
    rows = read_doubles(argv[2], &n_values);
    if (!rows) {
        fprintf(stderr, "bench_c_predict: cannot read %s\n", argv[2]);
        return 1;
    }
    t0 = clock();
    if (wc_load_file(argv[1], &m, err, sizeof err) != WC_OK) {
        fprintf(stderr, "bench_c_predict: %s\n", err);
        return 1;
    }
    load_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    n_columns = wc_n_columns(m);
    n_rows = n_values / n_columns;
    out = (double *)malloc(n_rows * sizeof(double) + 1);
    if (!out) return 1;
    t0 = clock();
    for (i = 0; i < n_rows; i++) {
        if (wc_predict_numbers(m, rows + i * n_columns, &margin, &out[i], err, sizeof err) != WC_OK) {
            fprintf(stderr, "bench_c_predict: row %lu: %s\n", (unsigned long)i, err);
            return 1;
        }
    }
    predict_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    f = fopen(argv[3], "wb");
    if (!f || fwrite(out, sizeof(double), n_rows, f) != n_rows || fclose(f) != 0) return 1;
    printf("{\"rows\": %lu, \"load_cpu_s\": %.6f, \"predict_cpu_s\": %.6f, \"model_memory_bytes\": %lu, "
           "\"peak_rss_mb\": %.3f}\n",
           (unsigned long)n_rows, load_s, predict_s, (unsigned long)wc_memory_bytes(m), peak_rss_mb());
    wc_free(m);
    free(rows);
    free(out);
    return 0;
}
