package org.distillery.jobs.cli;

import java.util.concurrent.Callable;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.generate.GenerateConfig;
import org.distillery.jobs.generate.GenerateJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sequence-level (black-box) distillation: a frozen teacher LM samples continuations of prompts"
                + " (the first tokens of each window of a text transfer set) in Spark, and the prompts with their"
                + " continuations are published as a text transfer set, cut into windows like ingest's, for"
                + " train --task lm (and label) to read.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--prompts", required = true, paramLabel = "DIR",
            description = "Published text transfer set whose windows give the prompts, e.g. runs/lm/data/train; the"
                    + " output has its vocabulary, window length and burn-in.")
    String prompts;
    @Option(names = "--teacher", required = true, paramLabel = "PATH",
            description = "Teacher LM: a published model directory, a DL4J zip of an LSTM LM (sampled one LSTM step"
                    + " per token) or an ONNX causal LM (recomputed over the last window-length tokens per token).")
    String teacher;
    @Option(names = "--teacher-output", paramLabel = "NAME",
            description = "The logits output of an ONNX teacher with several outputs.")
    String teacherOutput;
    @Option(names = "--teacher-sha256", paramLabel = "HEX",
            description = "Refuse to run unless the teacher file has this SHA-256.")
    String teacherSha256;
    @Option(names = "--vocabulary-sha256", paramLabel = "HEX",
            description = "The SHA-256 of the vocabulary the teacher LM was trained with; the run is refused unless"
                    + " the prompts' vocabulary has it. A teacher whose manifest records its vocabulary is checked"
                    + " against that record anyway; otherwise only the vocabulary size is checked.")
    String vocabularySha256;
    @Option(names = "--prompt-tokens", paramLabel = "P", defaultValue = "" + GenerateConfig.DEFAULT_PROMPT_TOKENS,
            description = "Prompt length: the first P tokens of each window, at most the window length (default:"
                    + " ${DEFAULT-VALUE}).")
    int promptTokens;
    @Option(names = "--tokens", paramLabel = "N", defaultValue = "" + GenerateConfig.DEFAULT_TOKENS,
            description = "Tokens sampled per prompt at most; a sampled document boundary ends the sample sooner"
                    + " (default: ${DEFAULT-VALUE}).")
    int tokens;
    @Option(names = "--temperature", defaultValue = "" + GenerateConfig.DEFAULT_TEMPERATURE,
            description = "Sampling temperature, > 0 (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--top-p", defaultValue = "" + GenerateConfig.DEFAULT_TOP_P,
            description = "Nucleus sampling: draw from the fewest most probable tokens whose probability reaches P,"
                    + " in (0, 1]; 1 draws from every token (default: ${DEFAULT-VALUE}).")
    double topP;
    @Option(names = "--samples-per-prompt", defaultValue = "" + GenerateConfig.DEFAULT_SAMPLES_PER_PROMPT,
            description = "Continuations sampled from each prompt, each one document (default: ${DEFAULT-VALUE}).")
    int samplesPerPrompt;
    @Option(names = "--seed", defaultValue = "" + GenerateConfig.DEFAULT_SEED,
            description = "Seed: each sample draws from its own stream seeded by (seed, the prompt's window id, the"
                    + " sample's number), so the output does not depend on partitioning (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--limit", paramLabel = "N",
            description = "Take at most N prompts, those of the windows with the smallest ids (default: every window).")
    Integer limit;
    @Option(names = "--partitions", defaultValue = "0",
            description = "Spark tasks the prompts are spread over (default: 0, Spark's default parallelism).")
    int partitions;
    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory of the generated text transfer set.")
    String out;
    @Mixin
    OutputMode mode;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        GenerateConfig config = GenerateConfig.builder(prompts, teacher, out).teacherOutput(teacherOutput)
                .teacherSha256(teacherSha256).vocabularySha256(vocabularySha256).promptTokens(promptTokens)
                .tokens(tokens).temperature(temperature).topP(topP).samplesPerPrompt(samplesPerPrompt).seed(seed)
                .limit(limit).partitions(partitions).mode(mode.parsed()).build();
        return run.dryRunOrRun(() -> GenerateJob.dryRun(Storage.standalone(), config),
                () -> new GenerateJob(spark.session("generate")).run(config).summaryJson());
    }
}
