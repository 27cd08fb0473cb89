package org.distillery.jobs.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One pipeline configuration file (HOCON) supplying option values to every job: a section per job, keyed by the
 * option's long name without dashes ({@code label { temperature = 4 }}). It plugs into picocli as the default
 * provider, which gives the one precedence order: a flag on the command line, then this file, then the built-in
 * default. Unknown sections and keys are errors, so a typo cannot be silently ignored. HOCON substitutions such as
 * {@code ${?DISTILLERY_ROOT}} read the environment.
 */
final class PipelineConfig implements CommandLine.IDefaultValueProvider {
    /** Options that make no sense in a file. */
    private static final Set<String> NOT_IN_FILE = Set.of("help", "version", "config", "print", "dry-run");

    private final String source;
    private final Config config;

    private PipelineConfig(String source, Config config) {
        this.source = source;
        this.config = config;
    }

    /** Parses and resolves {@code path}; a missing or malformed file is an input error naming it. */
    static PipelineConfig load(String path) {
        File file = new File(path);
        if (!file.isFile()) {
            throw new IllegalArgumentException("config file not found: " + path);
        }
        try {
            Config c = ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false)).resolve();
            return new PipelineConfig(file.getPath(), c);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("bad config file " + path + ": " + e.getMessage(), e);
        }
    }

    /** The value of {@code --config} in {@code args}, or null; the file must be known before picocli parses. */
    static String pathIn(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--")) {
                return null;
            }
            if (args[i].equals("--config") && i + 1 < args.length) {
                return args[i + 1];
            }
            if (args[i].startsWith("--config=")) {
                return args[i].substring("--config=".length());
            }
        }
        return null;
    }

    String source() {
        return source;
    }

    /** Rejects sections that are not jobs and keys that are not options of their job, listing what is accepted. */
    void validate(CommandLine root) {
        Map<String, CommandLine> jobs = root.getSubcommands();
        for (Map.Entry<String, ConfigValue> section : config.root().entrySet()) {
            CommandLine job = jobs.get(section.getKey());
            if (job == null || !configurable(job)) {
                throw new IllegalArgumentException("unknown section '" + section.getKey() + "' in " + source
                        + " (sections: " + String.join(", ", configurableJobs(root)) + ")");
            }
            if (section.getValue().valueType() != ConfigValueType.OBJECT) {
                throw new IllegalArgumentException("section '" + section.getKey() + "' in " + source
                        + " must be an object like " + section.getKey() + " { ... }");
            }
            Set<String> known = keys(job);
            for (String key : ((ConfigObject) section.getValue()).keySet()) {
                if (!known.contains(key)) {
                    throw new IllegalArgumentException("unknown key '" + section.getKey() + "." + key + "' in " + source
                            + " (" + section.getKey() + " accepts: " + String.join(", ", known) + ")");
                }
            }
        }
    }

    static List<String> configurableJobs(CommandLine root) {
        return root.getSubcommands().values().stream().filter(PipelineConfig::configurable)
                .map(CommandLine::getCommandName).distinct().collect(Collectors.toList());
    }

    private static boolean configurable(CommandLine job) {
        return job.getCommandSpec().findOption("--config") != null;
    }

    /** Keys a job accepts in the file: its options' long names without dashes. */
    static Set<String> keys(CommandLine job) {
        Set<String> keys = new TreeSet<>();
        for (OptionSpec o : job.getCommandSpec().options()) {
            String k = key(o);
            if (!NOT_IN_FILE.contains(k)) {
                keys.add(k);
            }
        }
        return keys;
    }

    static String key(OptionSpec o) {
        return o.longestName().replaceFirst("^-+", "");
    }

    /** True when the file sets {@code job.option}. */
    boolean sets(String job, OptionSpec option) {
        return config.hasPathOrNull(job + "." + quoted(key(option)));
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.command().parent() == null) {
            return null;
        }
        String path = option.command().name() + "." + quoted(key(option));
        if (NOT_IN_FILE.contains(key(option)) || !config.hasPath(path)) {
            return null;
        }
        return asArgument(config.getValue(path), path);
    }

    /** A HOCON value as picocli would read it from the command line: lists comma-joined, objects as k=v pairs. */
    private String asArgument(ConfigValue value, String path) {
        switch (value.valueType()) {
            case LIST: {
                List<String> items = new ArrayList<>();
                for (Object o : (List<?>) value.unwrapped()) {
                    items.add(String.valueOf(o));
                }
                return String.join(",", items);
            }
            case OBJECT: {
                List<String> pairs = new ArrayList<>();
                ((ConfigObject) value).forEach((k, v) -> pairs.add(k + "=" + v.unwrapped()));
                return String.join(",", pairs);
            }
            default:
                return String.valueOf(value.unwrapped());
        }
    }

    private static String quoted(String key) {
        return com.typesafe.config.ConfigUtil.joinPath(key);
    }
}
