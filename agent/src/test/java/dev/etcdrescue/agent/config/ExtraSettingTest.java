package dev.etcdrescue.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import org.junit.jupiter.api.Test;

/** The names etcd 3.6 gave the experimental settings are allowed beside the old ones, each with its grammar. */
class ExtraSettingTest {
    @Test
    void bothNamesOfARenamedSettingAndFeatureGatesAreAllowed() {
        ExtraSetting.byName("ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME").orElseThrow().check("10m", "extra[0]");
        ExtraSetting.byName("ETCD_CORRUPT_CHECK_TIME").orElseThrow().check("1h30m", "extra[0]");
        ExtraSetting.byName("ETCD_FEATURE_GATES").orElseThrow().check("InitialCorruptCheck=true,CompactHashCheck=false", "extra[0]");
        assertThat(ExtraSetting.byName("ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION")).as("a security switch, never carried")
                .isEmpty();
    }

    @Test
    void aDurationNeedsAUnitAndAGateAValue() {
        assertThatThrownBy(() -> ExtraSetting.byName("ETCD_CORRUPT_CHECK_TIME").orElseThrow().check("10", "extra[1]"))
                .isInstanceOf(AgentException.class).hasMessageContaining("extra[1] (ETCD_CORRUPT_CHECK_TIME)");
        assertThatThrownBy(() -> ExtraSetting.byName("ETCD_FEATURE_GATES").orElseThrow().check("InitialCorruptCheck", "extra[2]"))
                .isInstanceOf(AgentException.class).hasMessageContaining("Name=true");
    }
}
