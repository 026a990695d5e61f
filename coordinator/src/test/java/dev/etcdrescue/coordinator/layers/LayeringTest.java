package dev.etcdrescue.coordinator.layers;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import io.grpc.Channel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.AbstractStub;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The coordinator's packages point one way: the CLI sits on top (only it turns a failure kind into an
 * exit code), and the packages below it do not depend on each other in a circle. Agents are reached
 * through {@code agent/} alone: it builds every channel (one TLS setup, one keepalive, one message
 * limit) and holds the only stubs, so every call goes through AgentClient's deadlines.
 */
@Timeout(60)
class LayeringTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.etcdrescue.coordinator");
    }

    @Test
    void nothingBelowTheCliDependsOnIt() {
        noClasses().that().resideOutsideOfPackage("dev.etcdrescue.coordinator.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.etcdrescue.coordinator.cli..")
                .check(classes);
    }

    @Test
    void onlyTheAgentPackageOpensChannelsAndCallsStubs() {
        noClasses().that().resideOutsideOfPackage("dev.etcdrescue.coordinator.agent..")
                .should().dependOnClassesThat().resideInAnyPackage("io.grpc.netty..", "io.grpc.okhttp..", "io.grpc.inprocess..")
                .orShould().dependOnClassesThat().areAssignableTo(ManagedChannelBuilder.class)
                .orShould().dependOnClassesThat().areAssignableTo(Channel.class)
                .orShould().dependOnClassesThat().areAssignableTo(RescueAgentGrpc.class)
                .orShould().dependOnClassesThat().areAssignableTo(AbstractStub.class)
                .because("AgentChannels is the one place that connects to agents, and AgentClient the one client")
                .check(classes);
    }

    @Test
    void thePackagesFormNoCycle() {
        slices().matching("dev.etcdrescue.coordinator.(*)..").should().beFreeOfCycles().check(classes);
    }
}
