package dev.etcdrescue.agent.oldmember;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvFileParserTest {
    @Test
    void readsDebiansDefaultFileLikeSystemd() {
        Map<String, String> env = EnvFileParser.parse("""
                ## etcd(1) daemon options
                ## See "/usr/share/doc/etcd-server/op-guide/configuration.md.gz"
                # ETCD_NAME="hostname"
                ; ETCD_DATA_DIR="/var/lib/etcd/default"
                ETCD_NAME="node-1"
                  ETCD_QUOTA_BACKEND_BYTES=8589934592
                ETCD_HEARTBEAT_INTERVAL = 200
                ETCD_LOG_LEVEL='warn'
                DAEMON_ARGS=""
                """);

        assertThat(env).containsExactly(Map.entry("ETCD_NAME", "node-1"), Map.entry("ETCD_QUOTA_BACKEND_BYTES", "8589934592"),
                Map.entry("ETCD_HEARTBEAT_INTERVAL", "200"), Map.entry("ETCD_LOG_LEVEL", "warn"), Map.entry("DAEMON_ARGS", ""));
    }

    @Test
    void quotesEscapesAndContinuations() {
        Map<String, String> env = EnvFileParser.parse("A=\"x \\\"y\\\" \\$HOME \\n\"\n"
                + "B='a \\ b'\n"
                + "C=one\\\ntwo\n"
                + "D=\"multi\\\nline\"\n"
                + "E=trailing blanks   \t\n"
                + "F=\"kept blanks  \"\n"
                + "G=a\\ \n");

        assertThat(env).containsEntry("A", "x \"y\" $HOME \\n").containsEntry("B", "a \\ b").containsEntry("C", "onetwo")
                .containsEntry("D", "multiline").containsEntry("E", "trailing blanks").containsEntry("F", "kept blanks  ")
                .containsEntry("G", "a ");
    }

    @Test
    void laterAssignmentWinsButKeepsItsPlace() {
        assertThat(EnvFileParser.parse("A=1\nB=2\nA=3")).containsExactly(Map.entry("A", "3"), Map.entry("B", "2"));
    }

    @Test
    void ignoresWhatSystemdIgnores() {
        Map<String, String> env = EnvFileParser.parse("""
                export ETCD_NAME=x
                no equals sign here
                1BAD=x
                # comment continued \\
                ETCD_HIDDEN=in the comment
                ETCD_EMPTY=
                """);

        assertThat(env).containsExactly(Map.entry("ETCD_EMPTY", ""));
    }

    @Test
    void crlfLinesAndAnUnterminatedQuote() {
        assertThat(EnvFileParser.parse("A=1\r\nB=\"open")).containsEntry("A", "1").containsEntry("B", "open");
    }
}
