package org.distillery.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.distillery.jobs.common.PublishMode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The options several commands share through mixins keep each command's documented default. */
class SharedOptionsTest {
    private static final String[] EXPERIMENT = {"--transfer", "t", "--validation", "v", "--test", "x", "--teacher",
        "m", "--out", "o"};

    @Test
    void eachLabellingCommandKeepsItsOwnTemperatureDefaultAndTakesAFlag() {
        assertThat(temperature("label", "--transfer", "t", "--teacher", "m", "--out", "o")).isEqualTo(2.0);
        assertThat(temperature("born-again", EXPERIMENT)).isEqualTo(1.0);
        assertThat(temperature("omitted-class", with(EXPERIMENT, "--class", "3"))).isEqualTo(8.0);
        assertThat(temperature("omitted-class", with(EXPERIMENT, "--class", "3", "-T", "4"))).isEqualTo(4.0);
        assertThat(temperature("label", "--transfer", "t", "--teacher", "m", "--out", "o", "--temperature", "3"))
                .isEqualTo(3.0);
    }

    @Test
    void helpShowsTheCommandsOwnDefault() {
        assertThat(Distill.commandLine().getSubcommands().get("omitted-class").getUsageMessage())
                .contains("(default: 8.0;");
        assertThat(Distill.commandLine().getSubcommands().get("label").getUsageMessage()).contains("(default: 2.0;");
    }

    @Test
    void outputModeParsesForEveryCommandThatTakesIt() {
        CommandLine cl = Distill.commandLine();
        cl.parseArgs("train", "--transfer", "t", "--out", "o", "--mode", "overwrite");
        TrainCommand train = cl.getSubcommands().get("train").getCommand();
        assertThat(train.mode.parsed()).isEqualTo(PublishMode.OVERWRITE);
        cl.parseArgs("export", "--model", "m", "--out", "o");
        ExportCommand export = cl.getSubcommands().get("export").getCommand();
        assertThat(export.mode.parsed()).isEqualTo(PublishMode.FAIL_IF_EXISTS);
    }

    private static double temperature(String command, String... args) {
        CommandLine cl = Distill.commandLine();
        cl.parseArgs(with(new String[] {command}, args));
        Object c = cl.getSubcommands().get(command).getCommand();
        SoftTemperature t = c instanceof LabelCommand l ? l.temperature
                : c instanceof BornAgainCommand b ? b.temperature : ((OmittedClassCommand) c).temperature;
        return t.value;
    }

    private static String[] with(String[] first, String... more) {
        String[] all = java.util.Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }
}
