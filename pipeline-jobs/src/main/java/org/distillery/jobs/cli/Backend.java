package org.distillery.jobs.cli;

/**
 * Whether ND4J's backend loads on this machine, checked once before a job starts: a jar built with {@code -Pcuda}
 * on a machine without a GPU (or without a CUDA driver) would otherwise fail deep inside the first array operation
 * with a page of native-loading errors. One line says what is wrong instead.
 */
final class Backend {
    private Backend() {
    }

    /** Null when ND4J's backend loads; otherwise one line saying which backend could not run and why. */
    static String problem() {
        boolean cuda = present("org.nd4j.linalg.jcublas.JCublasBackend");
        // ND4J prints the native loader's stack trace itself while it looks for a backend that runs: held back, and
        // shown only with DISTILLERY_TRACE or when the backend loads after all
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream held = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(held, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            org.nd4j.linalg.factory.Nd4j.getBackend();
            System.setErr(err);
            err.print(held.toString(java.nio.charset.StandardCharsets.UTF_8));
            return null;
        } catch (Throwable t) { // a native library that will not load surfaces as an Error, not an Exception
            System.setErr(err);
            String printed = held.toString(java.nio.charset.StandardCharsets.UTF_8);
            if (System.getenv("DISTILLERY_TRACE") != null) {
                err.print(printed);
                t.printStackTrace();
            }
            String why = printed.lines().filter(l -> l.contains("UnsatisfiedLinkError")).findFirst()
                    .map(l -> l.replaceFirst(".*UnsatisfiedLinkError: (\\S*/)?", "")).orElse(rootMessage(t));
            return cuda ? "this build uses ND4J's CUDA backend (-Pcuda), which cannot run here: no usable GPU or CUDA"
                    + " driver (" + why + "); run the CPU build on machines without a GPU"
                    : "ND4J's CPU backend cannot load on this machine (" + why + ")";
        }
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, Backend.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = String.valueOf(root.getMessage()).lines().findFirst().orElse("");
        return root.getClass().getSimpleName() + ": " + (m.length() > 200 ? m.substring(0, 200) + "..." : m);
    }
}
