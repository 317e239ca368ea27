// MariaDB Connector/J with useServerPrepStmts=true: PreparedStatement prepares on the server
// (COM_STMT_PREPARE / EXECUTE, binary rows), with typed parameters and batches.
// Run: java -cp /usr/share/java/mariadb-java-client.jar tests/clients/JdbcPrepared.java PORT
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;

public class JdbcPrepared {
    static void check(boolean cond, String what) {
        if (!cond) {
            System.out.println("FAILED: " + what);
            System.exit(1);
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:mariadb://127.0.0.1:" + args[0] + "/?user=root&useServerPrepStmts=true";
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE IF NOT EXISTS jdbc_prep");
            st.execute("CREATE TABLE jdbc_prep.t (k INT, s VARCHAR(64), d DATE, ts DATETIME, "
                    + "f DOUBLE, m DECIMAL(10, 2), b BIGINT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)");
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO jdbc_prep.t VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                ins.setInt(1, 1);
                ins.setString(2, "it's ?");
                ins.setDate(3, Date.valueOf("2024-01-02"));
                ins.setTimestamp(4, Timestamp.valueOf("2024-01-02 03:04:05.5"));
                ins.setDouble(5, 1.5);
                ins.setBigDecimal(6, new BigDecimal("2.25"));
                ins.setLong(7, -9007199254740993L);
                check(ins.executeUpdate() == 1, "insert 1");
                for (int k = 2; k <= 4; k++) {
                    ins.setInt(1, k);
                    ins.setNull(2, Types.VARCHAR);
                    ins.setNull(3, Types.DATE);
                    ins.setNull(4, Types.TIMESTAMP);
                    ins.setDouble(5, k * 0.5);
                    ins.setNull(6, Types.DECIMAL);
                    ins.setLong(7, k);
                    ins.addBatch();
                }
                int[] counts = ins.executeBatch();
                check(counts.length == 3, "batch counts " + counts.length);
            }
            try (PreparedStatement q = c.prepareStatement(
                    "SELECT k, s, d, ts, f, m, b FROM jdbc_prep.t WHERE k <= ? ORDER BY k")) {
                q.setInt(1, 2);
                try (ResultSet rs = q.executeQuery()) {
                    check(rs.next(), "row 1");
                    check(rs.getInt(1) == 1, "k");
                    check("it's ?".equals(rs.getString(2)), "s " + rs.getString(2));
                    check(Date.valueOf("2024-01-02").equals(rs.getDate(3)), "d " + rs.getDate(3));
                    check(Timestamp.valueOf("2024-01-02 03:04:05.5").equals(rs.getTimestamp(4)),
                            "ts " + rs.getTimestamp(4));
                    check(rs.getDouble(5) == 1.5, "f");
                    check(new BigDecimal("2.25").compareTo(rs.getBigDecimal(6)) == 0, "m " + rs.getBigDecimal(6));
                    check(rs.getLong(7) == -9007199254740993L, "b " + rs.getLong(7));
                    check(rs.next(), "row 2");
                    rs.getString(2);
                    check(rs.wasNull(), "s NULL");
                    check(!rs.next(), "two rows");
                }
                q.setInt(1, 10);
                try (ResultSet rs = q.executeQuery()) {
                    int n = 0;
                    double sum = 0;
                    while (rs.next()) {
                        n++;
                        sum += rs.getDouble(5);
                    }
                    check(n == 4 && sum == 1.5 + 1.0 + 1.5 + 2.0, "reused: " + n + " " + sum);
                }
            }
            try (PreparedStatement bad = c.prepareStatement("SELECT * FROM jdbc_prep.missing WHERE k = ?")) {
                bad.setInt(1, 1);
                bad.executeQuery();
                check(false, "no error for a missing table");
            } catch (SQLException e) {
                check(e.getErrorCode() == 1146, "error " + e.getErrorCode() + " " + e.getMessage());
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM jdbc_prep.t")) {
                rs.next();
                check(rs.getLong(1) == 4, "count " + rs.getLong(1));
            }
        }
        System.out.println("ok");
    }
}
