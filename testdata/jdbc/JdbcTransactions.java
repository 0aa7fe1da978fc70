// Runs PostgreSQL's JDBC driver with autocommit off, as BI tools and batch jobs do: the driver
// sends BEGIN before the first statement, reads a setFetchSize(100) ResultSet an Execute per
// chunk (a Sync after each, the portal living on in the transaction block), two such
// ResultSets read in turn, commit; an error in the block, then a statement refused (25P02),
// rollback; a write refused (25006); a ResultSet suspended when its block fails (25P02); setReadOnly (BEGIN READ ONLY); getTransactionIsolation,
// setTransactionIsolation(REPEATABLE_READ) and the level the block then has;
// and autosave=always (a savepoint before each statement, rolled back to after an error).
// Prints one line per step: "step<TAB>text", read by the test.
//
// Usage: java -cp postgresql.jar JdbcTransactions.java URL USER PASSWORD
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class JdbcTransactions {
  static Properties props(String user, String password) {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    p.setProperty("sslmode", "disable");
    return p;
  }

  static String state(SQLException e) {
    return e.getSQLState();
  }

  public static void main(String[] args) throws Exception {
    try (Connection c = DriverManager.getConnection(args[0], props(args[1], args[2]))) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.setFetchSize(100);
        try (ResultSet rs = s.executeQuery("SELECT i FROM range(5000) t(i) ORDER BY i")) {
          long n = 0, sum = 0;
          boolean ordered = true;
          while (rs.next()) {
            long v = rs.getLong(1);
            if (v != n) ordered = false;
            n++;
            sum += v;
          }
          System.out.println("fetch\t" + n + " " + sum + " " + ordered);
        }
      }
      // Two ResultSets open at once, read in turn: each one's portal suspended while the other runs.
      try (Statement a = c.createStatement(); Statement b = c.createStatement()) {
        a.setFetchSize(100);
        b.setFetchSize(100);
        ResultSet ra = a.executeQuery("SELECT i FROM range(3000) t(i) ORDER BY i");
        ResultSet rb = b.executeQuery("SELECT i * 2 AS j FROM range(2500) t(i) ORDER BY i");
        long na = 0, nb = 0;
        boolean ok = true, moreA = true, moreB = true;
        while (moreA || moreB) {
          if (moreA && (moreA = ra.next())) {
            if (ra.getLong(1) != na) ok = false;
            na++;
          }
          if (moreB && (moreB = rb.next())) {
            if (rb.getLong(1) != nb * 2) ok = false;
            nb++;
          }
        }
        ra.close();
        rb.close();
        System.out.println("interleaved\t" + na + " " + nb + " " + ok);
      }
      c.commit();
      System.out.println("committed\tok");
      try (Statement s = c.createStatement()) {
        try {
          s.executeQuery("SELECT * FROM no_such_table");
          System.out.println("missing\tnot refused");
        } catch (SQLException e) {
          System.out.println("missing\t" + state(e));
        }
        try {
          s.executeQuery("SELECT 1");
          System.out.println("aborted\tnot refused");
        } catch (SQLException e) {
          System.out.println("aborted\t" + state(e));
        }
        c.rollback();
        try (ResultSet rs = s.executeQuery("SELECT 1 AS n")) {
          rs.next();
          System.out.println("after-rollback\t" + rs.getInt(1));
        }
        try {
          s.execute("DROP TABLE goroutines");
          System.out.println("drop\tnot refused");
        } catch (SQLException e) {
          System.out.println("drop\t" + state(e));
        }
        c.rollback();
      }
      // A ResultSet suspended when its block fails gives no more rows (25P02), as in PostgreSQL.
      try (Statement a = c.createStatement(); Statement b = c.createStatement()) {
        a.setFetchSize(100);
        ResultSet ra = a.executeQuery("SELECT i FROM range(1000) t(i)");
        try {
          b.executeQuery("SELECT * FROM no_such_table");
        } catch (SQLException e) {
          // expected: 42P01
        }
        int n = 0;
        try {
          while (ra.next()) n++;
          System.out.println("suspended-after-error\t" + n + " not refused");
        } catch (SQLException e) {
          System.out.println("suspended-after-error\t" + n + " " + state(e));
        }
        c.rollback();
      }
      c.setReadOnly(true);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) AS n FROM snapshots")) {
        rs.next();
        System.out.println("read-only\t" + rs.getLong(1));
      }
      System.out.println("isolation\t" + c.getTransactionIsolation());
      c.commit();
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT current_setting('transaction_isolation') AS level")) {
        rs.next();
        System.out.println("repeatable-read\t" + c.getTransactionIsolation() + " " + rs.getString(1));
      }
      c.commit();
    } catch (SQLException e) {
      System.out.println("error\t" + e.getSQLState() + " " + e.getMessage());
      System.exit(1);
    }
    Properties p = props(args[1], args[2]);
    p.setProperty("autosave", "always");
    try (Connection c = DriverManager.getConnection(args[0], p)) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        try {
          s.executeQuery("SELECT * FROM no_such_table");
          System.out.println("autosave-missing\tnot refused");
        } catch (SQLException e) {
          System.out.println("autosave-missing\t" + state(e));
        }
        // The driver rolled back to its savepoint: the block goes on.
        try (ResultSet rs = s.executeQuery("SELECT 2 AS n")) {
          rs.next();
          System.out.println("autosave\t" + rs.getInt(1));
        }
      }
      c.commit();
    } catch (SQLException e) {
      System.out.println("error\t" + e.getSQLState() + " " + e.getMessage());
      System.exit(1);
    }
  }
}
