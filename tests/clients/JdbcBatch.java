// MariaDB Connector/J's Statement.executeBatch: by default (useBatchMultiSend) it sends every
// statement of the batch before reading any answer. Every row must arrive, every count match.
// Run: java -cp /usr/share/java/mariadb-java-client.jar tests/clients/JdbcBatch.java PORT
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;

public class JdbcBatch {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:mariadb://127.0.0.1:" + args[0] + "/?user=root";
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE IF NOT EXISTS jdbc_batch");
            st.execute("CREATE TABLE jdbc_batch.t (a INT, b VARCHAR(10))");
            for (int i = 1; i <= 10; i++) {
                st.addBatch("INSERT INTO jdbc_batch.t VALUES (" + i + ", 'row" + i + "')");
            }
            int[] counts = st.executeBatch();
            System.out.println("counts " + Arrays.toString(counts));
            try (ResultSet rs = st.executeQuery("SELECT count(*), sum(a) FROM jdbc_batch.t")) {
                rs.next();
                System.out.println("rows " + rs.getLong(1) + " sum " + rs.getLong(2));
            }
            try (ResultSet rs = st.executeQuery("SELECT NULL, concat('a', NULL)")) {
                rs.next();
                System.out.println("nulls " + rs.getString(1) + " " + rs.getString(2));
            }
        }
    }
}
