package org.distillery.model.nn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which OpenBLAS kernel ND4J's CPU backend runs its matrix products with. OpenBLAS picks its kernel once, when the
 * native library loads: from {@code OPENBLAS_CORETYPE} when set, else from the CPU's family, and a family it does not
 * know (a newer EPYC) falls back to a generic kernel at under half the speed. The kernel decides most of a dense
 * teacher's time, so the jobs choose it by the CPU's instruction sets before ND4J loads, one setting,
 * {@value #CONF}:
 * <ul>
 *   <li>{@code auto} (the default): the widest kernel the CPU's flags allow ({@code SkylakeX} with AVX-512,
 *       {@code Haswell} with AVX2 and FMA), set when {@code OPENBLAS_CORETYPE} is unset or names a narrower one;
 *       a wider or equal setting is kept. On a CPU whose flags cannot be read nothing is changed.</li>
 *   <li>{@code keep}: {@code OPENBLAS_CORETYPE} as the environment has it (or OpenBLAS's own choice when unset).</li>
 *   <li>a kernel name ({@code SkylakeX}, {@code Haswell}, {@code Zen}, ...): that one, refused when the CPU lacks
 *       its instructions (it would stop the JVM on the first product).</li>
 * </ul>
 * Different kernels round differently, so the choice is logged by every JVM that makes it and the running kernel is
 * read back from the loaded library ({@link #running()}).
 */
public final class BlasKernel {
    /** The configuration key, a Spark property so that executors read it from the job's conf. */
    public static final String CONF = "spark.distillery.blas.kernel";
    public static final String AUTO = "auto";
    public static final String KEEP = "keep";
    static final String ENV = "OPENBLAS_CORETYPE";

    private static final Set<String> AVX512 = Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
    private static final Set<String> AVX2 = Set.of("avx2", "fma");

    /** OpenBLAS's x86-64 kernel names (driver/others/dynamic.c) with the instruction sets each needs. */
    private enum Kernel {
        PRESCOTT("Prescott"), CORE2("Core2"), PENRYN("Penryn"), DUNNINGTON("Dunnington"), NEHALEM("Nehalem"),
        ATHLON("Athlon"), OPTERON("Opteron"), OPTERON_SSE3("Opteron_SSE3"), BARCELONA("Barcelona"), NANO("Nano"),
        ATOM("Atom"), BOBCAT("Bobcat"),
        SANDYBRIDGE("Sandybridge", "avx"), BULLDOZER("Bulldozer", "avx"), PILEDRIVER("Piledriver", "avx"),
        STEAMROLLER("Steamroller", "avx"), EXCAVATOR("Excavator", "avx"),
        HASWELL("Haswell", AVX2), ZEN("Zen", AVX2),
        SKYLAKEX("SkylakeX", AVX512), COOPERLAKE("Cooperlake", plus(AVX512, "avx512_bf16"));

        /** The name OpenBLAS gives the kernel ({@code OPENBLAS_CORETYPE}, {@code openblas_get_corename}). */
        final String label;
        final Set<String> needs;

        Kernel(String label, String... needs) {
            this(label, Set.of(needs));
        }

        Kernel(String label, Set<String> needs) {
            this.label = label;
            this.needs = needs;
        }

        /** 2 for AVX-512 kernels, 1 for AVX2, 0 for the rest: what {@code auto} compares. */
        int width() {
            return needs.containsAll(AVX512) ? 2 : needs.containsAll(AVX2) ? 1 : 0;
        }

        static Optional<Kernel> named(String name) {
            return Arrays.stream(values()).filter(k -> k.label.equalsIgnoreCase(name)).findFirst();
        }
    }

    /**
     * What {@link #apply} did.
     *
     * @param setting the setting applied ({@code auto}, {@code keep} or a kernel name)
     * @param before  {@code OPENBLAS_CORETYPE} before, null when unset
     * @param after   {@code OPENBLAS_CORETYPE} after, null when unset
     * @param reason  why, in words, for the log
     */
    public record Choice(String setting, String before, String after, String reason) {
        /** One line for the log: the kernel running (when OpenBLAS has loaded) and why. */
        public String describe() {
            String running = running();
            return (running != null ? "OpenBLAS kernel " + running
                    : ENV + "=" + (after == null ? "unset" : after) + " for OpenBLAS when it loads")
                    + " (" + CONF + "=" + setting + ": " + reason + ")";
        }
    }

    private static volatile Choice applied;

    private BlasKernel() {
    }

    /** The setting from the JVM's system properties (where spark-submit and {@code -D} put Spark properties). */
    public static String configured() {
        return System.getProperty(CONF, AUTO);
    }

    /**
     * Sets {@code OPENBLAS_CORETYPE} for {@code setting} in this process, before OpenBLAS loads; once it has loaded
     * nothing changes (the first choice stands, and is returned). {@code strict}: an unknown name or one this CPU
     * cannot run throws {@link IllegalArgumentException} naming it (a driver refusing its input); otherwise such a
     * setting falls back to {@code auto} with the reason said (an executor on another CPU keeps running).
     */
    public static synchronized Choice apply(String setting, boolean strict) {
        if (applied != null) {
            return applied;
        }
        String before = currentEnv();
        if (openBlasLoaded()) {
            applied = new Choice(setting, before, before, "OpenBLAS was loaded before the setting could apply;"
                    + " it applies when set before a JVM first uses ND4J");
            return applied;
        }
        Choice choice = choose(setting, before, cpuFlags(), strict);
        if (choice.after() != null && !choice.after().equals(before)) {
            LibC.INSTANCE.setenv(ENV, choice.after(), 1);
        }
        applied = choice;
        return choice;
    }

    /** The decision, without side effects: {@code before} is the variable's value, {@code flags} the CPU's. */
    static Choice choose(String setting, String before, Set<String> flags, boolean strict) {
        String s = setting == null ? AUTO : setting.trim();
        if (s.equalsIgnoreCase(KEEP)) {
            return new Choice(KEEP, before, before, before == null ? ENV + " unset: OpenBLAS detects the CPU itself"
                    : ENV + "=" + before + " as set");
        }
        if (!s.equalsIgnoreCase(AUTO)) {
            Optional<Kernel> named = Kernel.named(s);
            String problem = named.isEmpty()
                    ? "unknown kernel '" + s + "' (auto, keep or one of "
                      + Arrays.stream(Kernel.values()).map(k -> k.label).collect(Collectors.joining(", ")) + ")"
                    : !flags.isEmpty() && !flags.containsAll(named.get().needs)
                            ? "this CPU cannot run kernel " + named.get().label + " (it lacks "
                              + String.join(", ", missing(named.get().needs, flags)) + ")"
                            : null;
            if (problem == null) {
                return new Choice(s, before, named.get().label, "as configured" + was(before, named.get().label));
            }
            if (strict) {
                throw new IllegalArgumentException(CONF + ": " + problem);
            }
            Choice auto = choose(AUTO, before, flags, false);
            return new Choice(auto.setting(), before, auto.after(), problem + "; " + auto.reason());
        }
        Optional<Kernel> widest = forFlags(flags);
        if (widest.isEmpty()) {
            String why = flags.isEmpty() ? "the CPU's flags could not be read" : "no AVX2 kernel for this CPU";
            String kept = before == null ? " left unset" : "=" + before + " kept";
            return new Choice(AUTO, before, before, why + "; " + ENV + kept);
        }
        Optional<Kernel> current = before == null ? Optional.empty() : Kernel.named(before);
        if (before != null && (current.isEmpty() || current.get().width() >= widest.get().width())) {
            return new Choice(AUTO, before, before, ENV + "=" + before + " kept ("
                    + (current.isEmpty() ? "a kernel name this build does not rank" : "as wide as the CPU allows")
                    + ")");
        }
        String why = widest.get().width() == 2 ? "this CPU has AVX-512" : "this CPU has AVX2 and FMA";
        return new Choice(AUTO, before, widest.get().label, why + was(before, widest.get().label));
    }

    private static String was(String before, String after) {
        return before == null ? "; " + ENV + " was unset" : before.equals(after) ? "" : "; " + ENV + " was " + before;
    }

    /** The widest kernel the flags allow: SkylakeX with AVX-512 (F, CD, BW, DQ, VL), Haswell with AVX2 and FMA. */
    static Optional<Kernel> forFlags(Set<String> flags) {
        return flags.containsAll(AVX512) ? Optional.of(Kernel.SKYLAKEX)
                : flags.containsAll(AVX2) ? Optional.of(Kernel.HASWELL) : Optional.empty();
    }

    /** The name {@link #forFlags} gives, null for none. */
    static String widestFor(Set<String> flags) {
        return forFlags(flags).map(k -> k.label).orElse(null);
    }

    /** The first processor's flags in /proc/cpuinfo; empty where there is no such file (not Linux) or no flags line. */
    static Set<String> cpuFlags() {
        try {
            return flagsOf(Files.readAllLines(Path.of("/proc/cpuinfo")));
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    /** The flags of the first {@code flags : ...} line of a /proc/cpuinfo text. */
    static Set<String> flagsOf(List<String> cpuinfo) {
        return cpuinfo.stream().filter(l -> l.startsWith("flags") && l.indexOf(':') > 0).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).trim())
                .map(f -> f.isEmpty() ? Set.<String>of() : Set.copyOf(List.of(f.split("\\s+"))))
                .orElse(Set.of());
    }

    /**
     * The kernel the loaded OpenBLAS runs ({@code openblas_get_corename}), or null when no OpenBLAS is loaded in this
     * process (not yet, or ND4J's CUDA backend).
     */
    public static String running() {
        Optional<String> lib = loadedLibrary();
        if (lib.isEmpty()) {
            return null;
        }
        try {
            return com.sun.jna.NativeLibrary.getInstance(lib.get()).getFunction("openblas_get_corename")
                    .invokeString(new Object[0], false);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return null;
        }
    }

    static boolean openBlasLoaded() {
        return loadedLibrary().isPresent();
    }

    /** The path of the OpenBLAS library mapped into this process, from /proc/self/maps. */
    private static Optional<String> loadedLibrary() {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(p -> p.startsWith("/") && p.substring(p.lastIndexOf('/') + 1).startsWith("libopenblas"))
                    .findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String currentEnv() {
        // System.getenv is the JVM's copy at start; after setenv the C environment is what OpenBLAS reads
        String value;
        try {
            value = LibC.INSTANCE.getenv(ENV);
        } catch (RuntimeException | LinkageError e) {
            value = System.getenv(ENV);
        }
        return value == null || value.isEmpty() ? null : value;
    }

    private static List<String> missing(Set<String> needs, Set<String> flags) {
        return needs.stream().filter(f -> !flags.contains(f)).sorted().toList();
    }

    private static Set<String> plus(Set<String> set, String extra) {
        return java.util.stream.Stream.concat(set.stream(), java.util.stream.Stream.of(extra))
                .collect(Collectors.toUnmodifiableSet());
    }

    /** The C library's environment functions, through JNA. */
    public interface LibC extends com.sun.jna.Library {
        LibC INSTANCE = com.sun.jna.Native.loadLibrary("c", LibC.class);

        int setenv(String name, String value, int overwrite);

        String getenv(String name);
    }
}
