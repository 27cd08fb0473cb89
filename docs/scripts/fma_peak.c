// Peak fp32 FMA throughput of this CPU on all cores (docs/PERFORMANCE.md's "fraction of peak" denominator).
// Build and run: gcc -O3 -march=native -fopenmp docs/scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
// (-O3 keeps the 12 accumulators in registers; at -O2 they live on the stack and it measures store forwarding)
// Each thread runs 12 independent vector FMA chains (enough to cover FMA latency x throughput) for ~2 s.
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

int main(void) {
    const long iters = 3000000000L; // ~2 s per thread on a 3.6 GHz AVX-512 core
    double t0 = omp_get_wtime();
    float sink = 0;
    int threads = 1;
#pragma omp parallel reduction(+ : sink)
    {
#pragma omp single
        threads = omp_get_num_threads();
#if defined(__AVX512F__)
        __m512 a[12], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
        for (int k = 0; k < 12; k++) a[k] = _mm512_set1_ps((float) k);
        for (long i = 0; i < iters / 12; i++)
            for (int k = 0; k < 12; k++) a[k] = _mm512_fmadd_ps(a[k], b, c);
        for (int k = 0; k < 12; k++) sink += _mm512_reduce_add_ps(a[k]);
        const int lanes = 16;
#else
        __m256 a[12], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
        for (int k = 0; k < 12; k++) a[k] = _mm256_set1_ps((float) k);
        for (long i = 0; i < iters / 12; i++)
            for (int k = 0; k < 12; k++) a[k] = _mm256_fmadd_ps(a[k], b, c);
        float out[8];
        for (int k = 0; k < 12; k++) { _mm256_storeu_ps(out, a[k]); for (int j = 0; j < 8; j++) sink += out[j]; }
        const int lanes = 8;
#endif
#pragma omp single
        threads = threads * 1 + 0 * lanes;
    }
#if defined(__AVX512F__)
    const int lanes = 16;
#else
    const int lanes = 8;
#endif
    double s = omp_get_wtime() - t0;
    double flops = 2.0 * lanes * (double) (iters / 12 * 12) * threads;
    printf("{\"threads\":%d,\"vectorLanes\":%d,\"seconds\":%.3f,\"gflops\":%.1f,\"sink\":%g}\n", threads, lanes, s,
           flops / s / 1e9, sink);
    return 0;
}
