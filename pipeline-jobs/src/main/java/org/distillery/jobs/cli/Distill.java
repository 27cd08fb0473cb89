package org.distillery.jobs.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code distill}: the pipeline's command line. Each subcommand builds one validated config and runs one job. */
@Command(name = "distill", mixinStandardHelpOptions = true, versionProvider = Distill.Version.class,
        description = "Knowledge distillation on Spark: ingest -> label -> train -> evaluate.",
        subcommands = {IngestCommand.class, LabelCommand.class, TrainCommand.class, EvaluateCommand.class,
            DemoCommand.class, OmittedClassCommand.class, BornAgainCommand.class, ConfigCommand.class})
public final class Distill implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        QuietTaskFailures.install();
        String backend = needsNd4j(args) ? Backend.problem() : null;
        if (backend != null) {
            System.err.println("distill: error: " + backend);
            System.exit(1);
        }
        System.exit(run(args));
    }

    /** Whether {@code args} run a job (ND4J is loaded), rather than print help, a version or a config. */
    private static boolean needsNd4j(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version") || a.equals("config")) {
                return false;
            }
        }
        return args.length > 0;
    }

    /** Runs the command line and returns the exit code: 0 ok, 2 bad input or usage, 1 anything else. */
    public static int run(String... args) {
        CommandLine cl = commandLine();
        try {
            configure(cl, PipelineConfig.pathIn(args));
        } catch (IllegalArgumentException e) {
            cl.getErr().println("distill: error: " + e.getMessage());
            return 2;
        }
        return cl.execute(args);
    }

    /**
     * Whether {@code args} parse as a command line (flags, types, required options), without running anything: null
     * when they do, else picocli's message. For checking deploy manifests whose paths do not exist here.
     */
    public static String parses(String... args) {
        try {
            commandLine().parseArgs(args);
            return null;
        } catch (CommandLine.ParameterException e) {
            return e.getMessage();
        }
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Distill()).setExecutionExceptionHandler(Errors::handle);
        cl.getSubcommands().get("config").setUnmatchedOptionsArePositionalParams(true); // a job's flags, verbatim
        return cl;
    }

    /** Installs the pipeline config file (if any) as every job's source of defaults, after checking its keys. */
    static PipelineConfig configure(CommandLine cl, String configPath) {
        if (configPath == null) {
            return null;
        }
        PipelineConfig config = PipelineConfig.load(configPath);
        config.validate(cl);
        cl.setDefaultValueProvider(config);
        return config;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = org.distillery.jobs.common.Versions.distillery();
            return new String[] {"distill " + v};
        }
    }
}
