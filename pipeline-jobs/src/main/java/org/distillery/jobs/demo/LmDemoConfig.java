package org.distillery.jobs.demo;

import java.util.List;
import org.distillery.jobs.ingest.TextConfig;
import org.distillery.model.nn.LstmArchitecture;

/**
 * The LM demo's scenario, the language-model counterpart of {@link DemoConfig}'s scarce labels: a teacher LM trained on
 * the whole training split of a text corpus; a baseline student trained on a small slice of that real text (the first
 * {@code sliceWindows} windows of a seeded order); a KD student on the same slice with the teacher's token soft targets;
 * a KD student with soft targets on the whole split; a student on text the teacher generated (black-box: sampled
 * continuations of {@code generatedPrompts} prompts of the split, cross-entropy only). Every student has the same
 * shape.
 *
 * @param out          run directory
 * @param source       the corpus: comma-separated files or globs ({@link TextConfig#DEFAULT_SOURCE}: Debian's)
 * @param documents    how its files are cut into documents (null: the default corpus's rules, else one per line)
 * @param window       T, tokens per window
 * @param burnIn       B, masked context tokens per window after a document's first
 * @param seed         seed of the split, the slice, initialisation and data order
 * @param teacher      the teacher LM and its schedule
 * @param student      every student's shape and schedule
 * @param sliceWindows windows the small-slice students see
 * @param topK         logits the label job keeps per position (the rest as one tail log-sum-exp)
 * @param temperature  T of the KD students' soft term
 * @param alpha        weight of the soft term (1 - alpha on the next token's cross-entropy)
 * @param generatedPrompts prompts the teacher continues for the black-box student (the split's smallest window ids)
 * @param generatedTokens  tokens the teacher samples per prompt at most
 * @param workers      parallel training workers
 * @param averagingFrequency minibatches per worker between parameter averagings
 */
public record LmDemoConfig(String out, String source, List<String> documents, int window, int burnIn, long seed,
                           Model teacher, Model student, int sliceWindows, int topK, double temperature, double alpha,
                           int generatedPrompts, int generatedTokens, int workers, int averagingFrequency) {
    public static final String DEFAULT_OUT = "runs/lm-demo";
    public static final String DEFAULT_TEACHER = "lstm:32:192";
    public static final String DEFAULT_STUDENT = "lstm:16:64";
    public static final int DEFAULT_TEACHER_EPOCHS = 1;
    public static final int DEFAULT_STUDENT_EPOCHS = 1;
    public static final int DEFAULT_SLICE_EPOCHS = 8;
    public static final int DEFAULT_TEACHER_BATCH = 64;
    public static final int DEFAULT_STUDENT_BATCH = 64;
    public static final double DEFAULT_LEARNING_RATE = 0.003;
    public static final int DEFAULT_WINDOW = 64;
    public static final int DEFAULT_BURN_IN = 16;
    public static final int DEFAULT_SLICE_WINDOWS = 4000;
    public static final int DEFAULT_TOP_K = 16;
    public static final double DEFAULT_TEMPERATURE = 1;
    public static final double DEFAULT_ALPHA = 0.5;
    public static final int DEFAULT_GENERATED_PROMPTS = 1000;
    public static final int DEFAULT_GENERATED_TOKENS = 128;

    /**
     * One LM of the demo and how it trains.
     *
     * @param architecture {@code lstm:EMBED:HIDDEN[,HIDDEN...]}, every LSTM layer of one width
     * @param epochs       maximum epochs over the whole training split
     * @param sliceEpochs  maximum epochs over the slice (students only: the slice is small, so it gets more passes;
     *                     the epoch with the best validation bits/char is kept)
     * @param batch        minibatch of windows per worker
     * @param learningRate Adam's learning rate
     */
    public record Model(String architecture, int epochs, int sliceEpochs, int batch, double learningRate) {
        public Model {
            LstmArchitecture a = LstmArchitecture.parse(architecture);
            if (a.hidden().stream().distinct().count() != 1) {
                throw new IllegalArgumentException("the demo's LMs have LSTM layers of one width, got '" + architecture
                        + "'");
            }
            if (epochs < 1 || sliceEpochs < 1 || batch < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("epochs, slice epochs, batch and learning rate must be positive, got "
                        + epochs + ", " + sliceEpochs + ", " + batch + " and " + learningRate + " for " + architecture);
            }
        }

        LstmArchitecture lstm() {
            return LstmArchitecture.parse(architecture);
        }
    }

    public LmDemoConfig {
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("output directory must be set, got '" + out + "'");
        }
        source = source == null ? TextConfig.DEFAULT_SOURCE : source;
        documents = documents == null || documents.isEmpty() ? TextConfig.defaultDocuments(source)
                : List.copyOf(documents);
        new TextConfig(documents, window, burnIn, TextConfig.DEFAULT_MIN_CHAR_COUNT);
        if (sliceWindows < 1) {
            throw new IllegalArgumentException("--slice-windows must be >= 1, got " + sliceWindows);
        }
        if (topK < 1) {
            throw new IllegalArgumentException("--top-k must be >= 1, got " + topK);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (generatedPrompts < 1 || generatedTokens < 1) {
            throw new IllegalArgumentException("--generated-prompts and --generated-tokens must be >= 1, got "
                    + generatedPrompts + " and " + generatedTokens);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
    }

    /** The defaults over {@code source} (null: Debian's corpus), written to {@code out}. */
    public static LmDemoConfig defaults(String out, String source) {
        return new LmDemoConfig(out, source, null, DEFAULT_WINDOW, DEFAULT_BURN_IN, 42,
                new Model(DEFAULT_TEACHER, DEFAULT_TEACHER_EPOCHS, 1, DEFAULT_TEACHER_BATCH, DEFAULT_LEARNING_RATE),
                new Model(DEFAULT_STUDENT, DEFAULT_STUDENT_EPOCHS, DEFAULT_SLICE_EPOCHS, DEFAULT_STUDENT_BATCH,
                        DEFAULT_LEARNING_RATE),
                DEFAULT_SLICE_WINDOWS, DEFAULT_TOP_K, DEFAULT_TEMPERATURE, DEFAULT_ALPHA, DEFAULT_GENERATED_PROMPTS,
                DEFAULT_GENERATED_TOKENS, 2, 10);
    }
}
