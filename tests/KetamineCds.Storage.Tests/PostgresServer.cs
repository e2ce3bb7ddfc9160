using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace KetamineCds.Storage.Tests;

/// <summary>
/// A real PostgreSQL 15 server for this test run: initdb into a temp directory and pg_ctl start on a free loopback
/// port, as the unprivileged 'postgres' user when the run is root (PostgreSQL refuses to run as root). One per test
/// run (collection fixture); stopped and deleted at the end. If it cannot start, every test using it fails with the
/// reason, unless KETAMINECDS_SKIP_POSTGRES=1 says to skip PostgreSQL on purpose.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string SkipVariable = "KETAMINECDS_SKIP_POSTGRES";
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private readonly string directory;
    private readonly bool asPostgresUser;
    private int databases;

    public PostgresServer()
    {
        if (Skipped)
        {
            directory = "";
            return;
        }

        asPostgresUser = Environment.UserName == "root";
        directory = Path.Combine(Path.GetTempPath(), "kcds-pg-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            Directory.CreateDirectory(directory);
            if (asPostgresUser)
            {
                Run("chown", ["postgres:postgres", directory]);
            }

            var data = Path.Combine(directory, "data");
            Run(Path.Combine(BinDirectory, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"], asPostgresUser);
            Port = FreePort();
            Run(Path.Combine(BinDirectory, "pg_ctl"),
                ["-D", data, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60", "start",
                 "-o", $"-p {Port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=200"], asPostgresUser);
        }
        catch (Exception e)
        {
            StartError = $"PostgreSQL could not be started for the store contract tests ({e.Message}). Install PostgreSQL 15 " +
                         $"({BinDirectory}; .ci/install-prerequisites.sh) or set {SkipVariable}=1 to skip PostgreSQL explicitly.";
        }
    }

    public static bool Skipped => Environment.GetEnvironmentVariable(SkipVariable) == "1";

    public int Port { get; private set; }

    public string? StartError { get; }

    /// <summary>A new, empty database on this server; its connection string.</summary>
    public string CreateDatabase()
    {
        if (StartError is not null)
        {
            throw new InvalidOperationException(StartError);
        }

        var name = $"kcds_test_{Interlocked.Increment(ref databases)}_{Guid.NewGuid():N}"[..30];
        var admin = $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";
        using (var connection = new NpgsqlConnection(admin))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {name}";
            command.ExecuteNonQuery();
        }

        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name}";
    }

    public void Dispose()
    {
        if (directory.Length == 0)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            if (Port != 0)
            {
                Run(Path.Combine(BinDirectory, "pg_ctl"), ["-D", Path.Combine(directory, "data"), "-m", "fast", "-w", "stop"], asPostgresUser);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Run(string program, string[] arguments, bool asPostgres = false)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(program)} did not finish in 120 s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited {process.ExitCode}: {stderr.Result.Trim()} {stdout.Result.Trim()}".Trim());
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
