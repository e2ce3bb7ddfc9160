using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KetamineCds.Api.Tests.Fallback;

/// <summary>A request as the scripted server saw it.</summary>
public sealed record RecordedRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers)
{
    public string Path => Target.Split('?')[0];

    public string? Authorization => Headers.TryGetValue("authorization", out var value) ? value : null;
}

/// <summary>How the scripted server answers one request; every fault the fallback must survive is a field here.</summary>
public sealed record ScriptedReply(int Status, byte[] Body)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public string ContentType { get; init; } = "application/fhir+json";

    /// <summary>Wait before the status line (a server that does not answer).</summary>
    public TimeSpan HeaderDelay { get; init; }

    /// <summary>Write the body this many bytes at a time with <see cref="ChunkDelay"/> between (a slow body).</summary>
    public int ChunkSize { get; init; }

    public TimeSpan ChunkDelay { get; init; }

    /// <summary>Announce the full Content-Length but close after this many body bytes (a truncated body).</summary>
    public int? TruncateAfter { get; init; }

    /// <summary>Omit Content-Length and end the body by closing the connection.</summary>
    public bool OmitContentLength { get; init; }

    public static ScriptedReply Json(string json, int status = 200) => new(status, Encoding.UTF8.GetBytes(json));

    public static ScriptedReply Error(int status) => new(status, Encoding.UTF8.GetBytes("""{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}"""));
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (one request per connection) standing in for the EHR's FHIR server, with
/// byte-level control over what it sends. It counts connections and records requests, so tests can assert that a
/// forbidden target saw none.
/// </summary>
public sealed class ScriptedHttpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly Task acceptLoop;
    private int connections;

    public ScriptedHttpServer(Func<RecordedRequest, ScriptedReply>? handler = null)
    {
        Handler = handler ?? (_ => ScriptedReply.Error(404));
        listener.Start();
        acceptLoop = AcceptAsync();
    }

    public Func<RecordedRequest, ScriptedReply> Handler { get; set; }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>The FHIR base URL this server answers under.</summary>
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/fhir");

    public int Connections => Volatile.Read(ref connections);

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref connections);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream, stop.Token);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                var reply = Handler(request);
                await WriteReplyAsync(stream, reply, stop.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client gave up (timeouts are the point of several tests).
            }
        }
    }

    private static async Task<RecordedRequest?> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return null;
            }

            length += read;
            var head = Encoding.ASCII.GetString(buffer, 0, length);
            var end = head.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            var lines = head[..end].Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var headers = lines.Skip(1)
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2)
                .GroupBy(p => p[0].Trim().ToLowerInvariant())
                .ToDictionary(g => g.Key, g => g.First()[1].Trim());
            return new RecordedRequest(requestLine[0], requestLine.Length > 1 ? requestLine[1] : "/", headers);
        }

        return null;
    }

    private static async Task WriteReplyAsync(NetworkStream stream, ScriptedReply reply, CancellationToken cancellationToken)
    {
        if (reply.HeaderDelay > TimeSpan.Zero)
        {
            await Task.Delay(reply.HeaderDelay, cancellationToken);
        }

        var head = new StringBuilder()
            .Append("HTTP/1.1 ").Append(reply.Status).Append(' ').Append(ReasonPhrase(reply.Status)).Append("\r\n")
            .Append("Content-Type: ").Append(reply.ContentType).Append("\r\n")
            .Append("Connection: close\r\n");
        if (!reply.OmitContentLength)
        {
            head.Append("Content-Length: ").Append(reply.Body.Length).Append("\r\n");
        }

        foreach (var (name, value) in reply.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);

        var body = reply.TruncateAfter is { } cut ? reply.Body.AsMemory(0, Math.Min(cut, reply.Body.Length)) : reply.Body;
        if (reply.ChunkSize > 0)
        {
            for (var offset = 0; offset < body.Length; offset += reply.ChunkSize)
            {
                await stream.WriteAsync(body.Slice(offset, Math.Min(reply.ChunkSize, body.Length - offset)), cancellationToken);
                await stream.FlushAsync(cancellationToken);
                await Task.Delay(reply.ChunkDelay, cancellationToken);
            }
        }
        else
        {
            await stream.WriteAsync(body, cancellationToken);
        }

        await stream.FlushAsync(cancellationToken);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
