package workflowgraph.neo4j;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Result;
import org.neo4j.graphdb.Transaction;

/**
 * Runs a Neo4j Community DBMS with the Bolt connector, for local development and tests.
 *
 * <p>Arguments: {@code --data DIR --plugins DIR [--host 127.0.0.1] [--port 7687]
 * [--pagecache 256m] [--tx-memory 1g] [--exit-on-stdin-eof]}. Authentication is off (loopback only). Prints
 * {@code NEO4J_READY bolt://host:port apoc=<version>} on standard output once Bolt accepts
 * connections and APOC answers, and shuts the DBMS down cleanly on SIGTERM/SIGINT.
 */
public final class Neo4jLauncher {

  private Neo4jLauncher() {}

  public static void main(String[] args) throws Exception {
    Path data = null;
    Path plugins = null;
    String host = "127.0.0.1";
    int port = 7687;
    String pageCache = "256m";
    String txMemory = "1g";
    boolean exitOnStdinEof = false;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--data" -> { data = Path.of(require(args[i], value)); i++; }
        case "--plugins" -> { plugins = Path.of(require(args[i], value)); i++; }
        case "--host" -> { host = require(args[i], value); i++; }
        case "--port" -> { port = Integer.parseInt(require(args[i], value)); i++; }
        case "--pagecache" -> { pageCache = require(args[i], value); i++; }
        case "--tx-memory" -> { txMemory = require(args[i], value); i++; }
        case "--exit-on-stdin-eof" -> exitOnStdinEof = true;
        default -> fail("unknown argument " + args[i]);
      }
    }
    if (data == null || plugins == null) {
      fail("usage: Neo4jLauncher --data DIR --plugins DIR [--host H] [--port P]");
    }
    Files.createDirectories(data);

    long started = System.nanoTime();
    DatabaseManagementService dbms =
        new DatabaseManagementServiceBuilder(data)
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
            .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
            .setConfig(HttpConnector.enabled, false)
            .setConfig(GraphDatabaseSettings.auth_enabled, false)
            .setConfig(GraphDatabaseSettings.plugin_dir, plugins.toAbsolutePath())
            .setConfig(
                GraphDatabaseSettings.procedure_unrestricted, java.util.List.of("apoc.*"))
            .setConfig(GraphDatabaseSettings.procedure_allowlist, java.util.List.of("*"))
            .setConfig(
                GraphDatabaseSettings.pagecache_memory,
                org.neo4j.io.ByteUnit.parse(pageCache))
            .setConfig(
                GraphDatabaseSettings.memory_transaction_global_max_size,
                org.neo4j.io.ByteUnit.parse(txMemory))
            .build();

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("NEO4J_STOPPING");
                  System.out.flush();
                  dbms.shutdown();
                  System.out.println("NEO4J_STOPPED");
                  System.out.flush();
                  stopped.countDown();
                },
                "neo4j-shutdown"));

    GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
    String apoc;
    try (Transaction tx = db.beginTx(); Result r = tx.execute("RETURN apoc.version() AS v")) {
      apoc = String.valueOf(r.next().get("v"));
      tx.commit();
    }
    waitForPort(host, port);
    if (exitOnStdinEof) {
      // The parent holds our stdin open; when it dies, even by SIGKILL, stdin reaches EOF and the
      // DBMS shuts down cleanly instead of lingering as an orphan.
      Thread watchdog =
          new Thread(
              () -> {
                try {
                  while (System.in.read() != -1) {
                    // ignore input
                  }
                } catch (IOException ignored) {
                  // treated as EOF
                }
                System.exit(0);
              },
              "parent-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
    }
    long ms = (System.nanoTime() - started) / 1_000_000;
    System.out.println(
        "NEO4J_READY bolt://" + host + ":" + port + " apoc=" + apoc + " startup_ms=" + ms);
    System.out.flush();
    stopped.await();
  }

  private static void waitForPort(String host, int port) throws InterruptedException {
    for (int attempt = 0; attempt < 300; attempt++) {
      try (java.net.Socket socket = new java.net.Socket()) {
        socket.connect(new InetSocketAddress(host, port), 200);
        return;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    fail("Bolt did not start listening on " + host + ":" + port);
  }

  private static String require(String flag, String value) {
    if (value == null) {
      fail(flag + " needs a value");
    }
    return value;
  }

  private static void fail(String message) {
    System.err.println("neo4j-launcher: " + message);
    System.exit(2);
  }
}
