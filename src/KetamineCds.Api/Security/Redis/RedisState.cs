using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using KetamineCds.SmartApp.Session;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;

namespace KetamineCds.Api.Security;

/// <summary>
/// Shared state for several instances (section <c>KetamineCds:Redis</c>). Unset <see cref="Configuration"/> keeps the
/// in-memory replay store and rate limit (one instance). docs/deploy/README.md.
/// </summary>
public sealed class RedisStateOptions
{
    public const string Section = "KetamineCds:Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>redis.internal:6379,ssl=true,password=...</c> (a secret).</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key this service writes, so one Redis can serve several deployments.</summary>
    [RegularExpression("^[A-Za-z0-9:_.-]{1,64}$")]
    public string KeyPrefix { get; set; } = "ketaminecds:";

    /// <summary>Connect and per-command timeout; a slower answer counts as Redis being unavailable.</summary>
    [Range(50, 10_000)]
    public int OperationTimeoutMilliseconds { get; set; } = 1000;

    /// <summary>Time allowed to establish the connection (at start-up, and on each reconnect).</summary>
    [Range(100, 60_000)]
    public int ConnectTimeoutMilliseconds { get; set; } = 5000;

    public bool Enabled => !string.IsNullOrWhiteSpace(Configuration);
}

/// <summary>
/// One multiplexed connection per process (StackExchange.Redis is built for exactly one). It does not abort when Redis
/// is down at start-up: it keeps reconnecting, and until it succeeds the replay store fails closed (503).
/// </summary>
public sealed partial class RedisConnection : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> multiplexer;

    public RedisConnection(IOptions<RedisStateOptions> options, ILogger<RedisConnection> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        KeyPrefix = settings.KeyPrefix;
        multiplexer = new Lazy<ConnectionMultiplexer>(() =>
        {
            var configuration = ConfigurationOptions.Parse(settings.Configuration!);
            configuration.AbortOnConnectFail = false;
            configuration.ConnectTimeout = settings.ConnectTimeoutMilliseconds;
            configuration.SyncTimeout = settings.OperationTimeoutMilliseconds;
            configuration.AsyncTimeout = settings.OperationTimeoutMilliseconds;
            configuration.ClientName ??= "ketamine-cds";
            // Endpoints only: the configuration string may hold a password.
            LogConnecting(logger, string.Join(",", configuration.EndPoints.Select(e => e.ToString())));
            return ConnectionMultiplexer.Connect(configuration);
        });
    }

    public string KeyPrefix { get; }

    public IDatabase Database => multiplexer.Value.GetDatabase();

    /// <summary>Connects now (at start-up) rather than on the first call; never throws: an unreachable Redis is retried in the background.</summary>
    public bool Connect() => multiplexer.Value.IsConnected;

    /// <summary>A key of bounded size whatever the caller sent: the prefix, a kind, and a SHA-256 of the parts.</summary>
    public RedisKey Key(string kind, params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', parts)));
        return $"{KeyPrefix}{kind}:{Base64UrlEncoder.Encode(digest)}";
    }

    public void Dispose()
    {
        if (multiplexer.IsValueCreated)
        {
            multiplexer.Value.Dispose();
        }
    }

    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "Shared state on Redis: endpoints={Endpoints}")]
    private static partial void LogConnecting(ILogger logger, string endpoints);
}

/// <summary>
/// The replay store shared by every instance: <c>SET key 1 NX PX ttl</c> is atomic in Redis, so of two instances that
/// see the same token at once exactly one succeeds. Unreachable or slow Redis fails closed (<see cref="ReplayStoreUnavailableException"/>).
/// </summary>
public sealed class RedisJtiReplayStore(RedisConnection redis, TimeProvider time) : IJtiReplayStore
{
    public async ValueTask<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        // A token already past its expiry cannot validate again; one second keeps the key meaningful without a zero TTL.
        var ttl = expiresAt - time.GetUtcNow();
        if (ttl < TimeSpan.FromSeconds(1))
        {
            ttl = TimeSpan.FromSeconds(1);
        }

        try
        {
            return await redis.Database.StringSetAsync(redis.Key("jti", issuer, jti), 1, ttl, When.NotExists);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            throw new ReplayStoreUnavailableException($"Redis did not answer the replay check: {ex.GetType().Name}", ex);
        }
    }
}

/// <summary>
/// The per-issuer fixed window shared by every instance: one Lua script (atomic in Redis) increments the issuer's
/// counter and starts its window (PEXPIRE) on the first call. If Redis cannot answer, the call is counted by this
/// instance's own in-memory limiter instead (the limit degrades to per instance; the replay store, which fails closed,
/// refuses signed calls anyway while Redis is down).
/// </summary>
public sealed partial class RedisIssuerRateLimiter(
    RedisConnection redis,
    InMemoryIssuerRateLimiter fallback,
    IOptions<CdsSecurityOptions> options,
    ILogger<RedisIssuerRateLimiter> logger) : IIssuerRateLimiter
{
    private const string Script = """
        local n = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          ttl = tonumber(ARGV[1])
        end
        return { n, ttl }
        """;

    public async ValueTask<RateLimitDecision> AcquireAsync(string partition, CancellationToken cancellationToken)
    {
        var settings = options.Value.RateLimit;
        try
        {
            var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(Script,
                [redis.Key("rate", partition)], [settings.WindowSeconds * 1000L]))!;
            var count = (long)result[0];
            return count <= settings.PermitLimit
                ? RateLimitDecision.Allow
                : new RateLimitDecision(false, TimeSpan.FromMilliseconds(Math.Max(1, (long)result[1])));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogFallback(logger, ex.GetType().Name);
            return await fallback.AcquireAsync(partition, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning,
        Message = "Redis did not answer the rate-limit count ({ExceptionType}); this instance counts alone until it does.")]
    private static partial void LogFallback(ILogger logger, string exceptionType);
}

public static class SharedStateRegistration
{
    /// <summary>
    /// The replay store, the rate limit and the SMART app's sessions: in memory (the default, one instance), or on Redis when
    /// <c>KetamineCds:Redis:Configuration</c> is set. Chosen when first resolved, so test hosts and environment variables apply.
    /// </summary>
    public static IServiceCollection AddCdsSharedState(this IServiceCollection services)
    {
        services.AddOptions<RedisStateOptions>().BindConfiguration(RedisStateOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<InMemoryJtiReplayStore>();
        services.AddSingleton<InMemoryIssuerRateLimiter>();
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<RedisJtiReplayStore>();
        services.AddSingleton<RedisIssuerRateLimiter>();
        services.AddSingleton<IJtiReplayStore>(sp => UseRedis(sp)
            ? sp.GetRequiredService<RedisJtiReplayStore>()
            : sp.GetRequiredService<InMemoryJtiReplayStore>());
        services.AddSingleton<IIssuerRateLimiter>(sp => UseRedis(sp)
            ? sp.GetRequiredService<RedisIssuerRateLimiter>()
            : sp.GetRequiredService<InMemoryIssuerRateLimiter>());

        // The SMART app's launches and sessions, on the same Redis (registered before AddSmartApp, whose in-memory default
        // then stands aside).
        services.AddSingleton<InMemorySmartSessionStore>();
        services.AddSingleton<RedisSmartSessionStore>();
        services.AddSingleton<ISmartSessionStore>(sp => UseRedis(sp)
            ? sp.GetRequiredService<RedisSmartSessionStore>()
            : sp.GetRequiredService<InMemorySmartSessionStore>());
        return services;
    }

    private static bool UseRedis(IServiceProvider services) => services.GetRequiredService<IOptions<RedisStateOptions>>().Value.Enabled;
}
