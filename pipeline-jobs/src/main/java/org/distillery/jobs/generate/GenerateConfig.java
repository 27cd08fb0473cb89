package org.distillery.jobs.generate;

import org.distillery.jobs.common.PublishMode;

/**
 * Validated configuration of the generate job; build it with {@link #builder}.
 *
 * @param prompts          published text transfer set whose windows give the prompts (e.g. a training split)
 * @param teacher          teacher LM: a published model directory, a DL4J zip of an LSTM LM or an ONNX causal LM
 * @param teacherOutput    the ONNX teacher's logits output when it has several (null: its only one, or "logits")
 * @param teacherSha256    expected SHA-256 of the teacher file, checked before anything runs (null: not checked)
 * @param vocabularySha256 SHA-256 of the vocabulary the teacher was trained with, for a teacher whose manifest does
 *                         not record it (null: the manifest's, else only the size is checked)
 * @param promptTokens     P: each prompt is the first P tokens of a window (fewer when the window has fewer real ones)
 * @param tokens           N: tokens sampled per prompt at most (a sampled document boundary ends the sample sooner)
 * @param temperature      sampling temperature, &gt; 0
 * @param topP             nucleus of top-p sampling, in (0, 1]; 1 samples from the whole distribution
 * @param samplesPerPrompt continuations sampled from each prompt
 * @param seed             seed of every sample's own stream (with the prompt's window id and the sample's number)
 * @param limit            prompts taken at most, those with the smallest window ids (null: every window)
 * @param partitions       Spark tasks the prompts are spread over (0: the session's default parallelism)
 * @param out              output directory of the generated text transfer set
 * @param mode             what to do when {@code out} is already published
 */
public record GenerateConfig(String prompts, String teacher, String teacherOutput, String teacherSha256,
                             String vocabularySha256, int promptTokens, int tokens, double temperature, double topP,
                             int samplesPerPrompt, long seed, Integer limit, int partitions, String out,
                             PublishMode mode) implements java.io.Serializable {
    public static final int DEFAULT_PROMPT_TOKENS = 16;
    public static final int DEFAULT_TOKENS = 128;
    public static final double DEFAULT_TEMPERATURE = 1.0;
    public static final double DEFAULT_TOP_P = 1.0;
    public static final int DEFAULT_SAMPLES_PER_PROMPT = 1;
    public static final long DEFAULT_SEED = 42;

    public GenerateConfig {
        require(prompts, "--prompts");
        require(teacher, "--teacher");
        require(out, "--out");
        if (promptTokens < 1) {
            throw new IllegalArgumentException("--prompt-tokens must be >= 1, got " + promptTokens);
        }
        if (tokens < 1) {
            throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be a finite number > 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        }
        if (samplesPerPrompt < 1) {
            throw new IllegalArgumentException("--samples-per-prompt must be >= 1, got " + samplesPerPrompt);
        }
        if (limit != null && limit < 1) {
            throw new IllegalArgumentException("--limit must be >= 1, got " + limit);
        }
        if (partitions < 0) {
            throw new IllegalArgumentException("--partitions must be >= 0 (0: the default parallelism), got "
                    + partitions);
        }
        mode = PublishMode.wholeOutput(mode, "generate");
    }

    private static void require(String value, String option) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(option + " must be set, got '" + value + "'");
        }
    }

    public static Builder builder(String prompts, String teacher, String out) {
        return new Builder(prompts, teacher, out);
    }

    /** Builds a config by option name; every option not set keeps its default. */
    public static final class Builder {
        private final String prompts;
        private final String teacher;
        private final String out;
        private String teacherOutput;
        private String teacherSha256;
        private String vocabularySha256;
        private int promptTokens = DEFAULT_PROMPT_TOKENS;
        private int tokens = DEFAULT_TOKENS;
        private double temperature = DEFAULT_TEMPERATURE;
        private double topP = DEFAULT_TOP_P;
        private int samplesPerPrompt = DEFAULT_SAMPLES_PER_PROMPT;
        private long seed = DEFAULT_SEED;
        private Integer limit;
        private int partitions;
        private PublishMode mode;

        private Builder(String prompts, String teacher, String out) {
            this.prompts = prompts;
            this.teacher = teacher;
            this.out = out;
        }

        public Builder teacherOutput(String v) {
            teacherOutput = v;
            return this;
        }

        public Builder teacherSha256(String v) {
            teacherSha256 = v;
            return this;
        }

        public Builder vocabularySha256(String v) {
            vocabularySha256 = v;
            return this;
        }

        public Builder promptTokens(int v) {
            promptTokens = v;
            return this;
        }

        public Builder tokens(int v) {
            tokens = v;
            return this;
        }

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder samplesPerPrompt(int v) {
            samplesPerPrompt = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder limit(Integer v) {
            limit = v;
            return this;
        }

        public Builder partitions(int v) {
            partitions = v;
            return this;
        }

        public Builder mode(PublishMode v) {
            mode = v;
            return this;
        }

        public GenerateConfig build() {
            return new GenerateConfig(prompts, teacher, teacherOutput, teacherSha256, vocabularySha256, promptTokens,
                    tokens, temperature, topP, samplesPerPrompt, seed, limit, partitions, out, mode);
        }
    }
}
