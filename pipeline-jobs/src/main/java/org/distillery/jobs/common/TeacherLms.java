package org.distillery.jobs.common;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frozen teacher LMs on a JVM, for the jobs that run one in Spark tasks (label's token soft targets, generate's
 * sampling): each teacher, by its SHA-256 and output, is loaded once per executor; a thread-safe one (an ONNX Runtime
 * session) is shared by every task thread, a DL4J LSTM LM (whose forward pass and step state are not thread-safe) is
 * loaded once per task thread. And the vocabulary rule both jobs apply before Spark reads a row.
 */
public final class TeacherLms {
    private static final Logger LOG = LoggerFactory.getLogger(TeacherLms.class);
    private static final Map<String, TokenLogitFunction> SHARED = new ConcurrentHashMap<>();
    private static final ThreadLocal<Map<String, TokenLogitFunction>> PER_THREAD =
            ThreadLocal.withInitial(HashMap::new);

    private TeacherLms() {
    }

    /**
     * The teacher for this thread: loaded from {@code file} once; a DL4J LM (not thread-safe) is loaded once per task
     * thread. The driver's check puts the instance it loaded here ({@link #share}), so local runs load it once.
     */
    public static TokenLogitFunction get(String key, ModelFile file, String output, int vocabulary) {
        TokenLogitFunction shared = SHARED.computeIfAbsent(key, k -> load(file, output, vocabulary));
        return shared.threadSafe() ? shared
                : PER_THREAD.get().computeIfAbsent(key, k -> LanguageModels.teacher(file, output, vocabulary));
    }

    /** Registers {@code lm}, loaded by the driver's check, as this JVM's instance of teacher {@code key}. */
    public static void share(String key, TokenLogitFunction lm) {
        if (lm.threadSafe()) {
            SHARED.putIfAbsent(key, lm);
        }
    }

    private static TokenLogitFunction load(ModelFile file, String output, int vocabulary) {
        TokenLogitFunction lm = LanguageModels.teacher(file, output, vocabulary);
        LOG.info("loaded teacher LM {} on this executor: {}", file.source(), lm.describe());
        return lm;
    }

    /**
     * The vocabulary rule: the vocabulary SHA-256 the teacher's manifest records (a teacher LM trained by distillery),
     * and {@code option} ({@code --vocabulary-sha256}) when given, must equal that of the text set read from
     * {@code text}. Returns where the teacher's vocabulary came from, for the manifest: "teacher manifest",
     * "--vocabulary-sha256", or "not recorded (only the size was checked)" (a bare model file and no option: the size
     * is checked against the teacher's output width when it is loaded).
     *
     * @throws IllegalArgumentException naming both hashes on a mismatch
     */
    public static String checkVocabulary(ModelArtifact teacher, String option, String text,
                                         CharVocabulary vocabulary) {
        String have = vocabulary.sha256();
        String recorded = teacher.manifest() == null ? null
                : teacher.manifest().facts().get(TextTransferSchema.VOCABULARY_SHA256) instanceof String s ? s : null;
        if (recorded != null && !recorded.equals(have)) {
            throw new IllegalArgumentException("vocabulary mismatch: teacher LM " + teacher.zipPath() + " was trained"
                    + " on vocabulary " + recorded + " (its manifest), but " + text + " has vocabulary " + have);
        }
        if (option != null && !option.equals(have)) {
            throw new IllegalArgumentException("vocabulary mismatch: --vocabulary-sha256 " + option
                    + " (the teacher LM's), but " + text + " has vocabulary " + have);
        }
        return recorded != null ? "teacher manifest" : option != null ? "--vocabulary-sha256"
                : "not recorded (only the size was checked)";
    }
}
