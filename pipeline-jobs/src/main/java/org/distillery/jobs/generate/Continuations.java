package org.distillery.jobs.generate;

import java.util.ArrayList;
import java.util.Arrays;
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
 * ({@link Sampling}: temperature, top-p), one at a time from the teacher's {@link LmDecoder} (a DL4J LSTM LM steps its
 * state; an ONNX LM recomputes its last T tokens), ending early when it draws a document boundary. Sample s of the
 * window with id i draws from its own {@code Random} seeded with {@code rank(rank(seed, i), s)}
 * ({@link Stratified#rank}), so a sample does not depend on the partitioning, the order of rows or task retries.
 *
 * <p>Emits one {@link #SCHEMA} row per sample: its document key, the prompt's window id, the sample's number (from 1),
 * the prompt's length, the document's token stream (prompt then continuation) and whether it ended on a boundary.
 */
final class Continuations implements FlatMapFunction<Iterator<Row>, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(Continuations.class);
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

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TokenLogitFunction lm = TeacherLms.get(key, file.value(), output, vocabulary);
        LmDecoder decoder = LmDecoder.of(lm, context);
        List<Row> out = new ArrayList<>();
        long started = System.nanoTime();
        long lastLog = started;
        long sampled = 0;
        while (rows.hasNext()) {
            Row r = rows.next();
            long id = r.getLong(0);
            int[] prompt = prompt(checked(id, TransferTables.ints(r, 1)), r.getInt(2), config.promptTokens());
            for (int s = 1; s <= config.samplesPerPrompt(); s++) {
                Random rng = new Random(Stratified.rank(Stratified.rank(config.seed(), id), s));
                int[] stream = sample(decoder, prompt, rng);
                boolean ended = stream[stream.length - 1] == CharVocabulary.BOUNDARY;
                sampled += stream.length - prompt.length;
                out.add(RowFactory.create(documentKey(config.seed(), id, s), id, s, prompt.length, stream, ended));
            }
            if (System.nanoTime() - lastLog > 10_000_000_000L) {
                lastLog = System.nanoTime();
                LOG.info("generate: {} prompts of this task done, {} tokens sampled ({} tokens/s)",
                        out.size() / config.samplesPerPrompt(), sampled,
                        String.format("%.0f", sampled / ((lastLog - started) / 1e9)));
            }
        }
        if (!out.isEmpty()) {
            LOG.info("generate: task sampled {} continuations, {} tokens in {} s", out.size(), sampled,
                    String.format("%.2f", (System.nanoTime() - started) / 1e9));
        }
        return out.iterator();
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
