// DatabaseMetaData through MariaDB Connector/J, as DBeaver and DataGrip read it to show a
// database's tree (catalogs, tables, columns, keys, indexes), and a query's ResultSetMetaData.
// Prints one line per row; the Rust test (src/cmd/tests/it/tools.rs) checks them.
// Run: java -cp /usr/share/java/mariadb-java-client.jar tests/clients/JdbcMetadata.java PORT
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;

public class JdbcMetadata {
    /** Prints `what col=value ...` for each row, then `what count N`. */
    static void rows(String what, ResultSet rs, String... cols) throws SQLException {
        int n = 0;
        while (rs.next()) {
            StringBuilder b = new StringBuilder(what);
            for (String c : cols) {
                b.append(' ').append(c).append('=').append(rs.getString(c));
            }
            System.out.println(b);
            n++;
        }
        System.out.println(what + " count " + n);
    }

    public static void main(String[] args) throws Exception {
        String base = "jdbc:mariadb://127.0.0.1:" + args[0] + "/";
        try (Connection c = DriverManager.getConnection(base + "?user=root");
                Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE jm");
            st.execute("CREATE TABLE jm.items (id INT NOT NULL COMMENT 'the id', "
                    + "name VARCHAR(20) DEFAULT 'none', price DECIMAL(8, 3), at DATETIME, "
                    + "day DATE) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) COMMENT 'stock'");
            st.execute("INSERT INTO jm.items VALUES (1, 'pen', 1.250, '2024-05-06 07:08:09', "
                    + "'2024-05-06'), (2, NULL, NULL, NULL, NULL)");
            st.execute("CREATE VIEW jm.cheap AS SELECT id, name FROM jm.items WHERE price < 2");
        }
        try (Connection c = DriverManager.getConnection(base + "jm?user=root")) {
            DatabaseMetaData md = c.getMetaData();
            rows("catalog", md.getCatalogs(), "TABLE_CAT");
            rows("schema", md.getSchemas(), "TABLE_SCHEM");
            rows("table", md.getTables("jm", null, "%", null), "TABLE_CAT", "TABLE_NAME",
                    "TABLE_TYPE", "REMARKS");
            rows("view", md.getTables("jm", null, "%", new String[] {"VIEW"}), "TABLE_NAME");
            rows("column", md.getColumns("jm", null, "items", "%"), "COLUMN_NAME", "DATA_TYPE",
                    "TYPE_NAME", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "IS_NULLABLE",
                    "COLUMN_DEF", "REMARKS", "ORDINAL_POSITION", "IS_AUTOINCREMENT");
            rows("viewcolumn", md.getColumns("jm", null, "cheap", "%"), "COLUMN_NAME",
                    "TYPE_NAME");
            rows("pk", md.getPrimaryKeys("jm", null, "items"), "COLUMN_NAME");
            rows("index", md.getIndexInfo("jm", null, "items", false, false), "INDEX_NAME");
            rows("procedure", md.getProcedures("jm", null, "%"), "PROCEDURE_NAME");
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id, name, price, at, day FROM items "
                            + "ORDER BY id")) {
                ResultSetMetaData m = rs.getMetaData();
                for (int i = 1; i <= m.getColumnCount(); i++) {
                    System.out.println("rsmd " + m.getColumnLabel(i) + " type=" + m.getColumnType(i)
                            + " " + m.getColumnTypeName(i) + " class=" + m.getColumnClassName(i)
                            + " nullable=" + m.isNullable(i) + " precision=" + m.getPrecision(i)
                            + " scale=" + m.getScale(i) + " table=" + m.getTableName(i)
                            + " catalog=" + m.getCatalogName(i));
                }
                while (rs.next()) {
                    System.out.println("row " + rs.getInt(1) + " " + rs.getString(2) + " "
                            + rs.getBigDecimal(3) + " " + rs.getTimestamp(4) + " " + rs.getDate(5));
                }
            }
        }
    }
}
