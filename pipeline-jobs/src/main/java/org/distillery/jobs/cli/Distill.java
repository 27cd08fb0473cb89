package org.distillery.jobs.cli;

import org.distillery.model.nn.BlasKernel;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code distill}: the pipeline's command line. Each subcommand builds one validated config and runs one job. */
@Command(name = "distill", mixinStandardHelpOptions = true, versionProvider = Distill.Version.class,
        description = "Knowledge distillation on Spark: ingest -> label (or generate) -> train -> evaluate -> export.",
        subcommands = {IngestCommand.class, LabelCommand.class, GenerateCommand.class, TrainCommand.class,
            EvaluateCommand.class, ExportCommand.class, CalibrateCommand.class, AugmentCommand.class, DemoCommand.class,
            OmittedClassCommand.class, BornAgainCommand.class, ConfigCommand.class})
public final class Distill implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        QuietTaskFailures.install();
        if (needsNd4j(args)) {
            // before ND4J loads OpenBLAS, which reads its kernel choice once
            BlasKernel.Choice blas;
            try {
                blas = BlasKernel.apply(BlasKernel.configured(), true);
            } catch (IllegalArgumentException e) {
                System.err.println("distill: error: " + e.getMessage());
                System.exit(2);
                return;
            }
            String backend = Backend.problem();
            if (backend != null) {
                System.err.println("distill: error: " + backend);
                System.exit(1);
            }
            LoggerFactory.getLogger(Distill.class).info("blas: {}", blas.describe());
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
        args = withoutEmptyOptions(args);
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
            commandLine().parseArgs(withoutEmptyOptions(args));
            return null;
        } catch (CommandLine.ParameterException e) {
            return e.getMessage();
        }
    }

    /**
     * {@code ingest}'s arguments without the options written {@code --name=} with an empty value: those count as not
     * given, so that a scheduler whose templates can change an argument's text but not drop it (Airflow's
     * application_args) can pass every ingest option, empty when unused. Other jobs take their arguments as written.
     */
    static String[] withoutEmptyOptions(String[] args) {
        if (args.length == 0 || !args[0].equals("ingest")) {
            return args;
        }
        java.util.List<String> kept = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--")) {
                kept.addAll(java.util.Arrays.asList(args).subList(i, args.length));
                break;
            }
            if (!args[i].matches("--[A-Za-z0-9][A-Za-z0-9-]*=")) {
                kept.add(args[i]);
            }
        }
        return kept.toArray(String[]::new);
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
