package org.distillery.jobs.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.common.TeacherLms;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.data.Stratified;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.LmDecoder;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.Sampling;
import org.distillery.model.nn.TokenLogitFunction;
import org.distillery.model.text.CharVocabulary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples the teacher's continuations of one partition of prompt windows (id, tokens, scored_to, in that order): for
 * each window, its first P real tokens are the prompt, and each of its samples draws up to N tokens
 * ({@link Sampling}: temperature, top-p) one at a time, ending early when it draws a document boundary. A DL4J LSTM LM
 * steps its state, {@value #STREAMS} samples at once ({@link LanguageModels.Stepper}); an ONNX LM recomputes its last
 * T tokens per token ({@link LmDecoder}), one sample at a time. Sample s of the
 * window with id i draws from its own {@code Random} seeded with {@code rank(rank(seed, i), s)}
 * ({@link Stratified#rank}), so a sample does not depend on the partitioning, the order of rows or task retries.
 *
 * <p>Emits one {@link #SCHEMA} row per sample: its document key, the prompt's window id, the sample's number (from 1),
 * the prompt's length, the document's token stream (prompt then continuation) and whether it ended on a boundary.
 */
final class Continuations implements FlatMapFunction<Iterator<Row>, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(Continuations.class);
    /** Streams a DL4J LSTM teacher steps at once. */
    static final int STREAMS = 32;
    static final StructType SCHEMA = new StructType().add("key", DataTypes.StringType, false)
            .add("prompt", DataTypes.LongType, false)
            .add("sample", DataTypes.IntegerType, false)
            .add("prompt_length", DataTypes.IntegerType, false)
            .add("stream", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
            .add("ended", DataTypes.BooleanType, false);
    private final String key;
    private final Broadcast<ModelFile> file;
    private final String output;
    private final int vocabulary;
    private final int context;
    private final GenerateConfig config;

    /**
     * @param key     the teacher's SHA-256 (with its output): what executors cache it by ({@link TeacherLms})
     * @param context T, the windows' length: the tokens a recomputed (ONNX) teacher sees at every step
     */
    Continuations(String key, Broadcast<ModelFile> file, String output, int vocabulary, int context,
                  GenerateConfig config) {
        this.key = key;
        this.file = file;
        this.output = output;
        this.vocabulary = vocabulary;
        this.context = context;
        this.config = config;
    }

    /** Document key of sample {@code sample} (from 1) of the prompt in window {@code prompt}, under {@code seed}. */
    static String documentKey(long seed, long prompt, int sample) {
        return "generate:seed=" + seed + ":prompt=" + prompt + "#" + sample;
    }

    /** The prompt of a window: its first {@code p} tokens, or its real inputs when it has fewer. */
    static int[] prompt(int[] tokens, int scoredTo, int p) {
        return Arrays.copyOf(tokens, Math.min(p, scoredTo));
    }

    /** One sample to draw: its prompt window's id, its number (from 1) and the prompt. */
    private record Job(long id, int sample, int[] prompt) {
        Random rng(long seed) {
            return new Random(Stratified.rank(Stratified.rank(seed, id), sample));
        }
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TokenLogitFunction lm = TeacherLms.get(key, file.value(), output, vocabulary);
        List<Job> jobs = new ArrayList<>();
        while (rows.hasNext()) {
            Row r = rows.next();
            long id = r.getLong(0);
            int[] prompt = prompt(checked(id, TransferTables.ints(r, 1)), r.getInt(2), config.promptTokens());
            for (int s = 1; s <= config.samplesPerPrompt(); s++) {
                jobs.add(new Job(id, s, prompt));
            }
        }
        // in a fixed order, so that a task's batches depend only on the rows it was given
        jobs.sort(Comparator.comparingInt((Job j) -> j.prompt().length).thenComparingLong(Job::id)
                .thenComparingInt(Job::sample));
        List<Row> out = new ArrayList<>(jobs.size());
        long started = System.nanoTime();
        long[] sampled = new long[1];
        long lastLog = started;
        int done = 0;
        while (done < jobs.size()) {
            int end = done + 1;
            if (LmDecoder.steps(lm)) { // a batch of streams of one prompt length, stepped together
                while (end < jobs.size() && end - done < STREAMS
                        && jobs.get(end).prompt().length == jobs.get(done).prompt().length) {
                    end++;
                }
            }
            List<Job> batch = jobs.subList(done, end);
            List<int[]> streams = LmDecoder.steps(lm) ? stepped(lm, batch) : List.of(sample(LmDecoder.of(lm, context),
                    batch.get(0).prompt(), batch.get(0).rng(config.seed())));
            for (int i = 0; i < batch.size(); i++) {
                Job j = batch.get(i);
                int[] stream = streams.get(i);
                sampled[0] += stream.length - j.prompt().length;
                out.add(RowFactory.create(documentKey(config.seed(), j.id(), j.sample()), j.id(), j.sample(),
                        j.prompt().length, stream, stream[stream.length - 1] == CharVocabulary.BOUNDARY));
            }
            done = end;
            if (System.nanoTime() - lastLog > 10_000_000_000L) {
                lastLog = System.nanoTime();
                LOG.info("generate: {} of this task's {} samples done, {} tokens sampled ({} tokens/s)", done,
                        jobs.size(), sampled[0], String.format("%.0f", sampled[0] / ((lastLog - started) / 1e9)));
            }
        }
        if (!out.isEmpty()) {
            LOG.info("generate: task sampled {} continuations, {} tokens in {} s", out.size(), sampled[0],
                    String.format("%.2f", (System.nanoTime() - started) / 1e9));
        }
        return out.iterator();
    }

    /**
     * The samples of {@code batch} (prompts of one length) drawn together from a DL4J LSTM LM: {@value #STREAMS}
     * streams stepped at once (a short batch is filled with finished copies of its first stream, so every step has the
     * same shape), each drawing from its own generator exactly as {@link #sample} would.
     */
    private List<int[]> stepped(TokenLogitFunction lm, List<Job> batch) {
        int n = batch.size();
        int[][] prompts = new int[STREAMS][];
        Random[] rng = new Random[n];
        for (int i = 0; i < STREAMS; i++) {
            prompts[i] = batch.get(i < n ? i : 0).prompt();
        }
        for (int i = 0; i < n; i++) {
            rng[i] = batch.get(i).rng(config.seed());
        }
        LanguageModels.Stepper stepper = LanguageModels.stepper(lm, STREAMS);
        float[][] z = stepper.prime(prompts);
        int[][] drawn = new int[n][config.tokens()];
        int[] count = new int[n];
        boolean[] finished = new boolean[n];
        int open = n;
        int[] next = new int[STREAMS];
        java.util.Arrays.fill(next, CharVocabulary.BOUNDARY); // what the finished and filler streams are fed
        for (int k = 0; k < config.tokens() && open > 0; k++) {
            for (int i = 0; i < n; i++) {
                if (finished[i]) {
                    next[i] = CharVocabulary.BOUNDARY;
                    continue;
                }
                int t = Sampling.next(z[i], config.temperature(), config.topP(), rng[i]);
                drawn[i][count[i]++] = t;
                next[i] = t;
                if (t == CharVocabulary.BOUNDARY || count[i] == config.tokens()) {
                    finished[i] = true;
                    open--;
                }
            }
            if (open > 0) {
                z = stepper.step(next);
            }
        }
        stepper.reset();
        List<int[]> streams = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int[] p = batch.get(i).prompt();
            int[] stream = Arrays.copyOf(p, p.length + count[i]);
            System.arraycopy(drawn[i], 0, stream, p.length, count[i]);
            streams.add(stream);
        }
        return streams;
    }

    /** The prompt followed by up to N tokens drawn from the teacher, the last a boundary when one was drawn. */
    int[] sample(LmDecoder decoder, int[] prompt, Random rng) {
        int[] stream = Arrays.copyOf(prompt, prompt.length + config.tokens());
        float[] z = decoder.prime(prompt);
        int n = prompt.length;
        for (int k = 0; k < config.tokens(); k++) {
            int next = Sampling.next(z, config.temperature(), config.topP(), rng);
            stream[n++] = next;
            if (next == CharVocabulary.BOUNDARY) {
                break;
            }
            if (k + 1 < config.tokens()) {
                z = decoder.step(next);
            }
        }
        return Arrays.copyOf(stream, n);
    }

    private int[] checked(long id, int[] tokens) {
        for (int s = 0; s < tokens.length; s++) {
            if (tokens[s] < 0 || tokens[s] >= vocabulary) {
                throw new IllegalArgumentException("token id " + tokens[s] + " outside the vocabulary [0, "
                        + vocabulary + ") at position " + s + " of prompt window id " + id);
            }
        }
        return tokens;
    }
}
