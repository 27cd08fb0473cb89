package org.distillery.jobs.label;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.broadcast.Broadcast;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frozen teachers on an executor: each teacher (by SHA-256 of its file) is loaded once per executor JVM, not per row or
 * per batch, whatever its format (DL4J zip, Keras HDF5, ONNX; read from the bytes, as the file name does not travel).
 * A thread-safe teacher (the fast dense path, an ONNX Runtime session) is shared by every task thread; a DL4J network
 * off the fast path is cloned per task thread, because DL4J networks are not safe for concurrent inference.
 */
final class TeacherCache {
    private static final Logger LOG = LoggerFactory.getLogger(TeacherCache.class);
    private static final Map<String, LogitFunction> SHARED = new ConcurrentHashMap<>();
    private static final ThreadLocal<Map<String, LogitModel>> PER_THREAD = ThreadLocal.withInitial(HashMap::new);

    private TeacherCache() {
    }

    /** The teacher for this thread: the executor's one instance when it is thread-safe, else a clone per task thread. */
    static LogitFunction get(String sha256, Broadcast<byte[]> file) {
        LogitFunction shared = shared(sha256, file);
        return shared.threadSafe() ? shared : ownedByThisThread(sha256, file);
    }

    /**
     * A DL4J model of this thread's own (a clone), for what only DL4J's forward pass computes: layer activations, and
     * the logits of networks off the fast path.
     *
     * @throws IllegalStateException for an ONNX teacher, which has no DL4J layers (LabelJob.check refuses that first)
     */
    static LogitModel ownedByThisThread(String sha256, Broadcast<byte[]> file) {
        return PER_THREAD.get().computeIfAbsent(sha256, k -> {
            if (shared(sha256, file) instanceof LogitModel model) {
                return new LogitModel(model.network().clone());
            }
            throw new IllegalStateException("teacher " + sha256 + " is not a DL4J network: its layers cannot be read");
        });
    }

    private static LogitFunction shared(String sha256, Broadcast<byte[]> file) {
        return SHARED.computeIfAbsent(sha256, k -> {
            LogitFunction teacher = Models.teacher(file.value(), "teacher " + sha256);
            LOG.info("loaded teacher {} on this executor: {}", sha256.substring(0, 12), teacher.describe());
            return teacher;
        });
    }
}
