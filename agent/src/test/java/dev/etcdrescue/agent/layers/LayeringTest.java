package dev.etcdrescue.agent.layers;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The agent's packages depend on each other without a cycle, so each can be read and tested from the bottom up. */
@Timeout(60)
class LayeringTest {
    @Test
    void thePackagesFormNoCycle() {
        JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.etcdrescue.agent");
        slices().matching("dev.etcdrescue.agent.(*)..").should().beFreeOfCycles().check(classes);
    }
}
