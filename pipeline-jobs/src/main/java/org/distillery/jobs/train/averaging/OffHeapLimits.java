package org.distillery.jobs.train.averaging;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ND4J keeps arrays off the JVM heap, under JavaCPP's limits {@code org.bytedeco.javacpp.maxbytes} (off-heap arrays)
 * and {@code maxphysicalbytes} (the whole process). On a cluster the executor container holds heap
 * ({@code spark.executor.memory}) plus {@code spark.executor.memoryOverhead}; if the off-heap limit exceeds the
 * overhead, the resource manager kills the executor mid-training (DL4J issues #2186, #2401). This check runs on the
 * driver before any work starts and refuses settings that cannot fit, naming the values.
 */
public final class OffHeapLimits {
    private static final Logger LOG = LoggerFactory.getLogger(OffHeapLimits.class);
    private static final long MIB = 1024L * 1024;
    private static final Pattern PROP = Pattern.compile("-Dorg\\.bytedeco\\.javacpp\\.(maxbytes|maxphysicalbytes)=(\\S+)");

    private OffHeapLimits() {
    }

    /** Fails when the executors' JavaCPP limits do not fit their container; no-op in local mode. */
    public static void check(SparkConf conf) {
        String master = conf.get("spark.master", "local");
        if (master.startsWith("local")) {
            return;
        }
        long heap = conf.getSizeAsBytes("spark.executor.memory", "1g");
        long overhead = conf.contains("spark.executor.memoryOverhead")
                ? conf.getSizeAsMb("spark.executor.memoryOverhead", "384m") * MIB
                : Math.max(384 * MIB, (long) (heap * conf.getDouble("spark.executor.memoryOverheadFactor", 0.10)));
        String options = conf.get("spark.executor.extraJavaOptions", "");
        Long maxBytes = null;
        Long maxPhysical = null;
        Matcher m = PROP.matcher(options);
        while (m.find()) {
            long v = bytes(m.group(2), m.group(0));
            if (m.group(1).equals("maxbytes")) {
                maxBytes = v;
            } else {
                maxPhysical = v;
            }
        }
        String verdict = verdict(heap, overhead, maxBytes, maxPhysical);
        if (verdict != null) {
            throw new IllegalArgumentException(verdict);
        }
        if (maxBytes == null) {
            LOG.warn("spark.executor.extraJavaOptions sets no -Dorg.bytedeco.javacpp.maxbytes: ND4J may use up to the"
                    + " heap size off-heap again ({} MiB) while the container allows {} MiB overhead; suggested:"
                    + " -Dorg.bytedeco.javacpp.maxbytes={}m -Dorg.bytedeco.javacpp.maxphysicalbytes={}m",
                    heap / MIB, overhead / MIB, overhead * 8 / 10 / MIB, (heap + overhead) / MIB);
        }
    }

    /** Null when the limits fit the container, else the reason (package-private for tests). */
    static String verdict(long heap, long overhead, Long maxBytes, Long maxPhysical) {
        if (maxBytes != null && maxBytes > overhead) {
            return "ND4J off-heap limit does not fit the executor container: -Dorg.bytedeco.javacpp.maxbytes="
                    + maxBytes / MIB + "m exceeds spark.executor.memoryOverhead=" + overhead / MIB + "m";
        }
        if (maxPhysical != null && maxPhysical > heap + overhead) {
            return "ND4J process limit does not fit the executor container: -Dorg.bytedeco.javacpp.maxphysicalbytes="
                    + maxPhysical / MIB + "m exceeds spark.executor.memory + memoryOverhead = " + (heap + overhead) / MIB + "m";
        }
        if (maxBytes != null && maxPhysical != null && maxPhysical < heap + maxBytes) {
            return "ND4J limits are inconsistent: maxphysicalbytes=" + maxPhysical / MIB + "m is below heap ("
                    + heap / MIB + "m) + maxbytes (" + maxBytes / MIB + "m); JavaCPP would refuse allocations early";
        }
        return null;
    }

    private static long bytes(String value, String option) {
        try {
            return org.apache.spark.network.util.JavaUtils.byteStringAsBytes(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad size in spark.executor.extraJavaOptions: " + option);
        }
    }
}
