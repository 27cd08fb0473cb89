package org.distillery.jobs.label;

import org.apache.spark.broadcast.Broadcast;
import org.distillery.jobs.common.PerJvm;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.Models;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frozen teachers on an executor: each teacher (by its SHA-256, output read and example shape) is loaded once per
 * executor JVM, not per row or per batch, whatever its format (DL4J zip, Keras archive or HDF5, ONNX with its external
 * data; read from the broadcast {@link ModelFile}).
 * A thread-safe teacher (the fast dense path, an ONNX Runtime session) is shared by every task thread; a DL4J network
 * off the fast path is cloned per task thread, because DL4J networks are not safe for concurrent inference.
 */
final class TeacherCache {
    private static final Logger LOG = LoggerFactory.getLogger(TeacherCache.class);
    private static final PerJvm<LogitFunction> TEACHERS = new PerJvm<>(LogitFunction::threadSafe);

    private TeacherCache() {
    }

    /** The cache key of a teacher: its SHA-256, the output read (null: its only one) and the example shape. */
    static String key(String sha256, String output, int[] exampleShape) {
        return sha256 + (output == null ? "" : "#" + output) + java.util.Arrays.toString(exampleShape);
    }

    /**
     * The teacher the driver's checks read, loaded by {@code load}. With a local master the driver is the executor:
     * a thread-safe teacher loaded here becomes the JVM's instance the tasks use, and one already there (an earlier
     * job in this JVM) is taken without loading it again. Otherwise the checks' own instance.
     */
    static LogitFunction forChecks(String key, java.util.function.Supplier<LogitFunction> load) {
        scala.Option<org.apache.spark.sql.SparkSession> active = org.apache.spark.sql.SparkSession.getActiveSession();
        if (active.isEmpty() || !active.get().sparkContext().isLocal()) {
            return load.get();
        }
        LogitFunction there = TEACHERS.peek(key);
        if (there != null) {
            return there;
        }
        LogitFunction teacher = load.get();
        TEACHERS.offer(key, teacher);
        return teacher;
    }

    /** The teacher for this thread: the executor's one instance when it is thread-safe, else a clone per task thread. */
    static LogitFunction get(String key, Broadcast<ModelFile> file, int[] exampleShape, String output) {
        return TEACHERS.forThisThread(key, () -> load(key, file, exampleShape, output), TeacherCache::cloned);
    }

    /**
     * A DL4J model of this thread's own (a clone), for what only DL4J's forward pass computes: layer activations, and
     * the logits of networks off the fast path.
     *
     * @throws IllegalStateException for an ONNX teacher, which has no DL4J layers (LabelJob.check refuses that first)
     */
    static LogitModel ownedByThisThread(String key, Broadcast<ModelFile> file, int[] exampleShape) {
        return (LogitModel) TEACHERS.ownedByThisThread(key,
                () -> cloned(TEACHERS.shared(key, () -> load(key, file, exampleShape, null))));
    }

    private static LogitModel cloned(LogitFunction teacher) {
        if (teacher instanceof LogitModel model) {
            return new LogitModel(model.network().clone());
        }
        throw new IllegalStateException("teacher " + teacher.describe() + " is not a DL4J network: its layers cannot be"
                + " read");
    }

    private static LogitFunction load(String key, Broadcast<ModelFile> file, int[] exampleShape, String output) {
        LogitFunction teacher = Models.teacher(file.value(), exampleShape, output);
        LOG.info("loaded teacher {} on this executor: {}", key.substring(0, 12), teacher.describe());
        return teacher;
    }
}
