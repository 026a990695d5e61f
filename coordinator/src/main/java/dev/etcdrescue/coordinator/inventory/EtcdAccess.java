package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.IoErrors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * How the coordinator itself talks to etcd (snapshot of a survivor, verify of the new cluster): the
 * CA it trusts and the client certificate it presents for https URLs, and the user for etcd's auth.
 * Paths are on the coordinator's machine, resolved against the inventory's directory. The password
 * is never part of the inventory: it comes from {@code etcd_password_file} or the environment
 * variable {@link #PASSWORD_ENV}, read only when a connection needs it, and never printed.
 *
 * @param ca the etcd CA (PEM, may be a bundle); null: no https
 * @param cert the client certificate; null: none presented (then also {@code key} is null)
 * @param user etcd user for password auth; null: none (a client certificate's CN may then be the user)
 * @param passwordFile where the password is; null: {@link #PASSWORD_ENV}
 */
public record EtcdAccess(Path ca, Path cert, Path key, String user, Path passwordFile) {
    public static final String PASSWORD_ENV = "ETCD_RESCUE_ETCD_PASSWORD";
    /** Plain http, no auth: what an inventory without any etcd_client_* or etcd_user variable means. */
    public static final EtcdAccess NONE = new EtcdAccess(null, null, null, null, null);

    public boolean tls() {
        return ca != null;
    }

    public Optional<String> userName() {
        return Optional.ofNullable(user);
    }

    /**
     * The password of {@link #user}: the file's first line, else the environment variable.
     *
     * @throws IllegalStateException with what to do, when neither gives one
     */
    public String password(Map<String, String> environment) {
        if (passwordFile != null) {
            try {
                String text = Files.readString(passwordFile, StandardCharsets.UTF_8);
                String first = text.lines().findFirst().orElse("");
                if (first.isEmpty()) {
                    throw new IllegalStateException("etcd_password_file " + passwordFile + " is empty: put the password of etcd user '"
                            + user + "' on its first line");
                }
                return first;
            } catch (IOException e) {
                throw new IllegalStateException("cannot read etcd_password_file " + passwordFile + " (" + IoErrors.describe(e)
                        + "): create it with the password of etcd user '" + user + "', readable only by you");
            }
        }
        String fromEnv = environment.get(PASSWORD_ENV);
        if (fromEnv == null || fromEnv.isEmpty()) {
            throw new IllegalStateException("etcd_user '" + user + "' is set but no password: set etcd_password_file in the inventory"
                    + " or export " + PASSWORD_ENV);
        }
        return fromEnv;
    }

    @Override
    public String toString() {
        return "EtcdAccess[ca=" + ca + ", cert=" + cert + ", key=" + key + ", user=" + user
                + ", password=" + (user == null ? "none" : passwordFile != null ? "from " + passwordFile : "from $" + PASSWORD_ENV) + "]";
    }
}
