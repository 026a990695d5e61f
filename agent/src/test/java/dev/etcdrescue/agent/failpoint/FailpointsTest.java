package dev.etcdrescue.agent.failpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import io.grpc.Status;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FailpointsTest {
    @Test
    void anUnsetOrBlankVariableArmsNothing() {
        assertThat(Failpoints.fromEnvironment(Map.of()).isArmed()).isFalse();
        assertThat(Failpoints.parse("  ").isArmed()).isFalse();
        assertThat(Failpoints.parse(" ; ").isArmed()).isFalse();
        assertThatCode(() -> Failpoints.none().hit(Failpoints.CONFIGURE_AFTER_ENV_FILE)).doesNotThrowAnyException();
    }

    @Test
    void sleepsAndErrorsAreArmedByNameAndOthersPassUntouched() {
        Failpoints f = Failpoints.fromEnvironment(Map.of(Failpoints.ENV,
                "configure.afterEnvFile=sleep(150ms); rpc.CutOver = error(disk on fire) ;restore.beforeTool=error"));
        assertThat(f.isArmed()).isTrue();
        assertThat(f.describe()).contains("configure.afterEnvFile=sleep(150ms)").contains("rpc.CutOver=error(disk on fire)");

        long t0 = System.nanoTime();
        f.hit(Failpoints.CONFIGURE_AFTER_ENV_FILE);
        assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(150);

        assertThatThrownBy(() -> f.hit("rpc.CutOver")).isInstanceOfSatisfying(AgentException.class, e -> {
            assertThat(e.code()).isEqualTo(Status.Code.INTERNAL);
            assertThat(e.getMessage()).isEqualTo("failpoint rpc.CutOver: disk on fire");
        });
        assertThatThrownBy(() -> f.hit(Failpoints.RESTORE_BEFORE_TOOL)).hasMessage("failpoint restore.beforeTool: injected error");
        assertThatCode(() -> f.hit(Failpoints.CUTOVER_AFTER_STOP_OLD)).doesNotThrowAnyException();
    }

    @Test
    void aCountLimitsHowOftenAPointFires() {
        Failpoints f = Failpoints.parse("cutover.afterEnableNew=2*error");
        assertThatThrownBy(() -> f.hit(Failpoints.CUTOVER_AFTER_ENABLE_NEW)).isInstanceOf(AgentException.class);
        assertThatThrownBy(() -> f.hit(Failpoints.CUTOVER_AFTER_ENABLE_NEW)).isInstanceOf(AgentException.class);
        assertThatCode(() -> f.hit(Failpoints.CUTOVER_AFTER_ENABLE_NEW)).doesNotThrowAnyException();
        assertThat(Failpoints.parse("rpc.Claim=0*error").isArmed()).isTrue();
        assertThatCode(() -> Failpoints.parse("rpc.Claim=0*error").hit("rpc.Claim")).doesNotThrowAnyException();
    }

    @Test
    void everyPointTheCodePassesIsKnown() {
        assertThat(Failpoints.KNOWN).contains("rpc.Preflight", "rpc.ConfigureMember", "rpc.StartMember", "rpc.CutOver",
                Failpoints.RESTORE_BEFORE_TOOL, Failpoints.RESTORE_AFTER_TOOL, Failpoints.CONFIGURE_AFTER_ENV_FILE,
                Failpoints.CUTOVER_AFTER_ENABLE_NEW, Failpoints.CUTOVER_AFTER_STOP_OLD);
        for (String name : Failpoints.KNOWN) {
            assertThat(Failpoints.parse(name + "=sleep(1ms)").isArmed()).as(name).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"configure.afterEnvfile=sleep(1s)", "rpc.Upload=error", "configure.afterEnvFile",
            "configure.afterEnvFile=sleep(1h)", "configure.afterEnvFile=sleep(30)", "configure.afterEnvFile=panic",
            "configure.afterEnvFile=sleep(1s);configure.afterEnvFile=error", "configure.afterEnvFile=x*error",
            "configure.afterEnvFile=error(a)(b)"})
    void aMistakeIsRefusedNamingTheEntry(String spec) {
        assertThatThrownBy(() -> Failpoints.parse(spec)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(Failpoints.ENV + ": ");
    }

    @Test
    void anUnknownNameListsTheKnownOnes() {
        assertThatThrownBy(() -> Failpoints.parse("configure.afterUnit=sleep(1s)"))
                .hasMessageContaining("unknown failpoint 'configure.afterUnit'").hasMessageContaining("configure.afterEnvFile");
    }
}
