package dev.etcdrescue.coordinator.layers;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The coordinator's packages point one way: the CLI sits on top (only it turns a failure kind into an
 * exit code), and the packages below it do not depend on each other in a circle.
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
    void thePackagesFormNoCycle() {
        slices().matching("dev.etcdrescue.coordinator.(*)..").should().beFreeOfCycles().check(classes);
    }
}
