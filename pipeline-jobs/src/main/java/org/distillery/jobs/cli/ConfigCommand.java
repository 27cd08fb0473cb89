package org.distillery.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code distill config --print}: every job option's resolved value and where it came from (flag, file, default),
 * in the config file's own format, so that what a scheduled task will run can be read before it runs.
 */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Show the resolved configuration (flag > --config file > default) of every job, or of one job"
                + " with its flags: distill config --print --config pipeline.conf [JOB [FLAGS...]].")
final class ConfigCommand implements Callable<Integer> {
    @Option(names = "--print", required = true, description = "Print the resolved configuration.")
    boolean print;
    @Option(names = "--config", paramLabel = "FILE", description = "Pipeline config file (HOCON).")
    String config;
    @Parameters(paramLabel = "JOB [FLAGS]", arity = "0..*", description = "A job and its flags, resolved as that job would.")
    List<String> job = new ArrayList<>();
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine root = Distill.commandLine();
        PipelineConfig file = Distill.configure(root, config);
        List<String> jobs = job.isEmpty() ? PipelineConfig.configurableJobs(root) : List.of(job.get(0));
        StringBuilder out = new StringBuilder("# resolved by distill " + org.distillery.jobs.common.Versions.distillery()
                + ": flag > " + (file == null ? "(no --config file)" : file.source()) + " > default\n");
        for (String name : jobs) {
            CommandLine sub = root.getSubcommands().get(name);
            if (sub == null || sub.getCommandSpec().findOption("--config") == null) {
                throw new IllegalArgumentException("unknown job '" + name + "' (jobs: "
                        + String.join(", ", PipelineConfig.configurableJobs(root)) + ")");
            }
            List<String> args = new ArrayList<>();
            args.add(name);
            if (!job.isEmpty()) {
                args.addAll(job.subList(1, job.size()));
            }
            java.util.Set<String> unset = new java.util.HashSet<>();
            CommandLine.ParseResult parsed = parse(root, args, unset).subcommand();
            out.append(name).append(" {\n");
            for (OptionSpec o : sub.getCommandSpec().options()) {
                String key = PipelineConfig.key(o);
                if (!PipelineConfig.keys(sub).contains(key)) {
                    continue;
                }
                if (unset.contains(key)) {
                    out.append(String.format("  %-40s # required, not set%n", key + " = null"));
                    continue;
                }
                String source = parsed.hasMatchedOption(o) ? "flag"
                        : file != null && file.sets(name, o) ? "file" : "default";
                out.append(String.format("  %-40s # %s%n", key + " = " + render(o.getValue()), source));
            }
            out.append("}\n");
        }
        spec.commandLine().getOut().print(out);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /**
     * Parses without running. Required options that neither a flag nor the file sets are collected in {@code unset}
     * (and parsed with a placeholder) so that the rest can still be shown.
     */
    private static CommandLine.ParseResult parse(CommandLine root, List<String> args, java.util.Set<String> unset) {
        List<String> all = new ArrayList<>(args);
        while (true) {
            try {
                return root.parseArgs(all.toArray(String[]::new));
            } catch (CommandLine.MissingParameterException e) {
                for (CommandLine.Model.ArgSpec a : e.getMissing()) {
                    if (!(a instanceof OptionSpec o) || !unset.add(PipelineConfig.key(o))) {
                        throw e;
                    }
                    all.add(o.longestName());
                    all.add("<unset>");
                }
            }
        }
    }

    private static String render(Object value) {
        if (value instanceof java.util.Map<?, ?> m && m.isEmpty() || value instanceof List<?> l && l.isEmpty()) {
            return value instanceof List ? "[]" : "{}";
        }
        return com.typesafe.config.ConfigValueFactory.fromAnyRef(value instanceof Enum<?> e ? e.name() : value)
                .render(com.typesafe.config.ConfigRenderOptions.concise());
    }
}
