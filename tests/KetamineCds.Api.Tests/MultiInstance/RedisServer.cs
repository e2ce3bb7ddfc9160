using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KetamineCds.Api.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Tests.MultiInstance;

/// <summary>
/// A real redis-server on a free 127.0.0.1 port, no persistence, its own temp directory; one per collection (here) or
/// class fixture (KetamineCds.SmartApp.Tests links this file for its two-instance launch test).
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? process;
    private string directory = "";

    public int Port { get; private set; }

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The service's own connection type to this server, connected and answering (as the service connects at
    /// start-up, so a test is about Redis, not a cold connection); keys under <paramref name="keyPrefix"/>. The caller disposes it.</summary>
    public RedisConnection Connect(string keyPrefix)
    {
        var connection = new RedisConnection(Options.Create(new RedisStateOptions { Configuration = Configuration, KeyPrefix = keyPrefix }),
            NullLogger<RedisConnection>.Instance);
        connection.Connect();
        connection.Database.Ping();
        return connection;
    }

    /// <summary>A connection to a port where no Redis listens, with a short operation timeout: for the stores' behaviour
    /// when Redis cannot be reached. The caller disposes it.</summary>
    public static RedisConnection Unreachable() =>
        new(Options.Create(new RedisStateOptions { Configuration = $"127.0.0.1:{LoopbackPort.Free()}", OperationTimeoutMilliseconds = 200 }),
            NullLogger<RedisConnection>.Instance);

    public async Task InitializeAsync()
    {
        directory = Directory.CreateTempSubdirectory("ketaminecds-redis-").FullName;
        Port = LoopbackPort.Free();
        var binary = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        process = Process.Start(new ProcessStartInfo(binary,
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException("redis-server did not start.");
    }

    public async Task DisposeAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process?.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
