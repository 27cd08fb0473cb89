package org.distillery.jobs.label;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frozen teachers on an executor: each teacher (by SHA-256) is deserialised once per executor JVM, not per row or per
 * batch. A teacher on the fast dense path is shared by every task thread (it is thread-safe); otherwise each task
 * thread gets its own clone, because DL4J networks are not safe for concurrent inference.
 */
final class TeacherCache {
    private static final Logger LOG = LoggerFactory.getLogger(TeacherCache.class);
    private static final Map<String, MultiLayerNetwork> LOADED = new ConcurrentHashMap<>();
    private static final ThreadLocal<Map<String, LogitModel>> PER_THREAD = ThreadLocal.withInitial(HashMap::new);

    private TeacherCache() {
    }

    private static final Map<String, LogitModel> SHARED = new ConcurrentHashMap<>();

    /**
     * The teacher for this thread: one shared model per executor when it takes the fast dense path (thread-safe),
     * else a clone per task thread.
     */
    static LogitModel get(String sha256, Broadcast<byte[]> zip) {
        LogitModel shared = SHARED.computeIfAbsent(sha256, k -> new LogitModel(prototype(sha256, zip)));
        if (shared.fastPath()) {
            return shared;
        }
        return ownedByThisThread(sha256, zip);
    }

    /** A model of this thread's own (a clone), for what only DL4J's forward pass computes: layer activations. */
    static LogitModel ownedByThisThread(String sha256, Broadcast<byte[]> zip) {
        return PER_THREAD.get().computeIfAbsent(sha256, k -> new LogitModel(prototype(sha256, zip).clone()));
    }

    private static MultiLayerNetwork prototype(String sha256, Broadcast<byte[]> zip) {
        return LOADED.computeIfAbsent(sha256, k -> {
            MultiLayerNetwork net = Models.fromBytes(zip.value(), "teacher " + sha256);
            LOG.info("loaded teacher {} on this executor ({} parameters)", sha256.substring(0, 12), net.numParams());
            return net;
        });
    }
}
