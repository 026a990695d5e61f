package dev.etcdrescue.agent.spec;

/** Unit name rules shared by config rendering and systemctl calls. */
public final class UnitNames {
    private UnitNames() {}

    /** "etcd_new" or "etcd_new.service" -> "etcd_new", checked against the grammar. */
    public static String bare(String unit, String field) {
        String bare = unit == null ? null : unit.replaceFirst("\\.service$", "");
        Grammar.require(bare, Grammar.UNIT_NAME, field, "a unit name of [A-Za-z0-9_.@-] such as etcd_new");
        return bare;
    }

    /** "etcd_new" -> "etcd_new.service". */
    public static String serviceFile(String unit, String field) {
        return bare(unit, field) + ".service";
    }
}
