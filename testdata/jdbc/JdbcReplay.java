// Runs PostgreSQL's JDBC driver against a server as a BI tool does: connect (the driver's
// own startup and SETs), a parameterised PreparedStatement executed through the extended
// protocol, again past the driver's prepareThreshold (named server-side statements), its
// DatabaseMetaData getTables and getColumns, and a refused statement. Prints one line per
// step: "step<TAB>json-ish text", read by the test.
//
// Usage: java -cp postgresql.jar JdbcReplay.java URL USER PASSWORD
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class JdbcReplay {
  static String rows(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    StringBuilder b = new StringBuilder();
    b.append("columns=");
    for (int i = 1; i <= md.getColumnCount(); i++) {
      if (i > 1) b.append(',');
      b.append(md.getColumnLabel(i)).append(':').append(md.getColumnTypeName(i));
    }
    b.append(" rows=");
    int n = 0;
    while (rs.next()) {
      if (n++ > 0) b.append(';');
      for (int i = 1; i <= md.getColumnCount(); i++) {
        if (i > 1) b.append(',');
        Object v = rs.getObject(i);
        b.append(v == null ? "NULL" : v.getClass().getSimpleName() + ":" + v);
      }
    }
    return b.toString();
  }

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", args[1]);
    p.setProperty("password", args[2]);
    p.setProperty("sslmode", "disable");
    p.setProperty("ApplicationName", "periscope-jdbc-test");
    try (Connection c = DriverManager.getConnection(args[0], p)) {
      System.out.println("connected\t" + c.getMetaData().getDatabaseProductVersion());
      long first;
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT min(goroutine_id) FROM goroutines")) {
        rs.next();
        first = rs.getLong(1);
      }
      String sql = "SELECT goroutine_id, status, system, wait_ns FROM goroutines WHERE goroutine_id = ? AND status <> ?";
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < 7; i++) {
          ps.setLong(1, first);
          ps.setString(2, "no such status");
          try (ResultSet rs = ps.executeQuery()) {
            System.out.println("prepared-" + i + "\t" + rows(rs));
          }
        }
      }
      // Past the 5th execution the driver asks for binary results: the values must not change.
      String types = "SELECT ?::INTEGER + 1 AS n, ? AS s, 2.5::DOUBLE AS f, TIMESTAMPTZ '2024-01-01 12:00:00.25+00' AS t,"
          + " DATE '2024-02-29' AS d, true AS b, 7::SMALLINT AS i2, -1.5::FLOAT AS f4, ?::BIGINT AS l";
      try (PreparedStatement ps = c.prepareStatement(types)) {
        for (int i = 0; i < 7; i++) {
          ps.setInt(1, 41);
          ps.setString(2, "grüße");
          ps.setLong(3, -9007199254740993L);
          try (ResultSet rs = ps.executeQuery()) {
            System.out.println("types-" + i + "\t" + rows(rs));
          }
        }
      }
      // What a BI tool's schema browser asks: tables by pattern, a table's columns.
      DatabaseMetaData md = c.getMetaData();
      try (ResultSet rs = md.getTables(null, null, "gorout%", new String[] {"TABLE", "VIEW"})) {
        StringBuilder b = new StringBuilder();
        while (rs.next())
          b.append(rs.getString("TABLE_SCHEM")).append('.').append(rs.getString("TABLE_NAME")).append(':')
              .append(rs.getString("TABLE_TYPE")).append(';');
        System.out.println("tables\t" + b);
      }
      try (ResultSet rs = md.getColumns(null, "main", "goroutines", "%")) {
        StringBuilder b = new StringBuilder();
        int n = 0;
        while (rs.next())
          if (n++ < 3)
            b.append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("TYPE_NAME")).append(':')
                .append(rs.getInt("ORDINAL_POSITION")).append(';');
        System.out.println("columns\t" + n + " " + b);
      }
      try (Statement s = c.createStatement()) {
        s.execute("DROP TABLE goroutines");
        System.out.println("drop\tnot refused");
      } catch (SQLException e) {
        System.out.println("drop\t" + e.getSQLState());
      }
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) AS n FROM snapshots")) {
        System.out.println("after\t" + rows(rs));
      }
    } catch (SQLException e) {
      System.out.println("error\t" + e.getSQLState() + " " + e.getMessage());
      System.exit(1);
    }
  }
}
