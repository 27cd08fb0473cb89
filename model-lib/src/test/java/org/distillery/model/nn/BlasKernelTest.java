package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BlasKernelTest {
    private static final Set<String> AVX512_CPU = Set.of("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512cd",
            "avx512bw", "avx512dq", "avx512vl");
    private static final Set<String> AVX2_CPU = Set.of("sse4_2", "avx", "avx2", "fma");

    @Test
    void autoTakesTheWidestKernelTheFlagsAllowOverANarrowerOrMissingSetting() {
        BlasKernel.Choice c = BlasKernel.choose("auto", "Haswell", AVX512_CPU, true);
        assertThat(c.after()).isEqualTo("SkylakeX");
        assertThat(c.reason()).contains("AVX-512").contains("was Haswell");
        assertThat(BlasKernel.choose("auto", null, AVX512_CPU, true).after()).isEqualTo("SkylakeX");
        assertThat(BlasKernel.choose("auto", null, AVX2_CPU, true).after()).isEqualTo("Haswell");
        assertThat(BlasKernel.choose("auto", "Sandybridge", AVX2_CPU, true).after()).isEqualTo("Haswell");
        assertThat(BlasKernel.choose(null, "Barcelona", AVX2_CPU, true).after()).isEqualTo("Haswell");
    }

    @Test
    void autoKeepsASettingAsWideAsTheCpuAllowsOrOneItCannotRank() {
        assertThat(BlasKernel.choose("auto", "Cooperlake", AVX512_CPU, true).after()).isEqualTo("Cooperlake");
        assertThat(BlasKernel.choose("auto", "Zen", AVX2_CPU, true).after()).isEqualTo("Zen");
        assertThat(BlasKernel.choose("auto", "SapphireRapids", AVX512_CPU, true).after()).isEqualTo("SapphireRapids");
        // no AVX2, or flags that could not be read: the variable stays as it is
        assertThat(BlasKernel.choose("auto", null, Set.of("sse4_2", "avx"), true).after()).isNull();
        BlasKernel.Choice unread = BlasKernel.choose("auto", "Haswell", Set.of(), true);
        assertThat(unread.after()).isEqualTo("Haswell");
        assertThat(unread.reason()).contains("could not be read");
    }

    @Test
    void keepLeavesTheEnvironmentAlone() {
        assertThat(BlasKernel.choose("keep", "Haswell", AVX512_CPU, true).after()).isEqualTo("Haswell");
        assertThat(BlasKernel.choose("KEEP", null, AVX512_CPU, true).after()).isNull();
    }

    @Test
    void aNamedKernelIsTakenWhenTheCpuRunsItAndRefusedOrReplacedWhenNot() {
        BlasKernel.Choice named = BlasKernel.choose("skylakex", "Haswell", AVX512_CPU, true);
        assertThat(named.after()).isEqualTo("SkylakeX");
        assertThat(named.reason()).contains("as configured");
        assertThatThrownBy(() -> BlasKernel.choose("SkylakeX", null, AVX2_CPU, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("spark.distillery.blas.kernel: this CPU cannot run kernel SkylakeX (it lacks avx512bw,"
                        + " avx512cd, avx512dq, avx512f, avx512vl)");
        assertThatThrownBy(() -> BlasKernel.choose("Skylake", null, AVX512_CPU, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("spark.distillery.blas.kernel: unknown kernel 'Skylake' (auto, keep or one of")
                .hasMessageContaining("SkylakeX");
        // an executor on a narrower CPU than the driver's keeps running, on the widest kernel it has
        BlasKernel.Choice lenient = BlasKernel.choose("SkylakeX", "Haswell", AVX2_CPU, false);
        assertThat(lenient.after()).isEqualTo("Haswell");
        assertThat(lenient.reason()).startsWith("this CPU cannot run kernel SkylakeX");
    }

    @Test
    void theFlagsAreTheFirstProcessorsFlagsLine() {
        List<String> cpuinfo = List.of("processor\t: 0", "model name\t: AMD EPYC", "flags\t\t: fpu avx2 fma avx2",
                "bugs\t\t: sysret_ss_attrs", "", "processor\t: 1", "flags\t\t: fpu avx2 fma avx512f");
        assertThat(BlasKernel.flagsOf(cpuinfo)).containsExactlyInAnyOrder("fpu", "avx2", "fma");
        assertThat(BlasKernel.flagsOf(List.of("processor\t: 0", "flags\t\t:"))).isEmpty();
        assertThat(BlasKernel.flagsOf(List.of("Processor\t: ARMv7"))).isEmpty();
    }

    @Test
    void widestForNamesTheKernelAutoPicks() {
        assertThat(BlasKernel.widestFor(AVX512_CPU)).isEqualTo("SkylakeX");
        assertThat(BlasKernel.widestFor(AVX2_CPU)).isEqualTo("Haswell");
        assertThat(BlasKernel.widestFor(Set.of("avx2"))).isNull();
    }

    /**
     * The setting reaches OpenBLAS: a fresh JVM (OpenBLAS reads the variable once, when it loads) with
     * OPENBLAS_CORETYPE=Haswell in its environment applies a setting, multiplies two matrices and reports the kernel
     * the loaded library says it runs.
     */
    @Test
    void theLoadedLibraryRunsTheChosenKernel() throws Exception {
        Set<String> flags = BlasKernel.cpuFlags();
        String widest = BlasKernel.widestFor(flags);
        assumeTrue(widest != null, "needs an x86-64 CPU with AVX2 and FMA");
        assertThat(probe("keep", "Haswell")).isEqualTo("Haswell");
        assertThat(probe("auto", "Haswell")).isEqualTo(widest);
        assertThat(probe("auto", null)).isEqualTo(widest);
        assertThat(probe("Zen", "Haswell")).isEqualTo("Zen");
    }

    private static String probe(String setting, String env) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), BlasKernelProbe.class.getName(), setting));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Map<String, String> e = pb.environment();
        e.remove("OPENBLAS_CORETYPE");
        if (env != null) {
            e.put("OPENBLAS_CORETYPE", env);
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text.lines().filter(l -> l.startsWith("running=")).findFirst()
                .map(l -> l.substring("running=".length())).orElseThrow(() -> new AssertionError(text));
    }
}
