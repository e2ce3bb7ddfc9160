using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KetamineCds.SmartApp.Launch;
using KetamineCds.SmartApp.Session;
using StackExchange.Redis;

namespace KetamineCds.Api.Security;

/// <summary>
/// The SMART app's launches and sessions on Redis, shared by every instance: a launch started on one instance is finished
/// on whichever the EHR's redirect reaches, and a session is served by any instance.
/// <para>
/// The EHR's tokens are sealed before they leave the process. Each value is encrypted (AES-256-GCM) under a key derived
/// (HKDF-SHA256) from the secret it is found by: the session id, which only the browser's HttpOnly cookie holds, or the
/// launch's state. The Redis key is a SHA-256 of that secret (<see cref="RedisConnection.Key"/>), so what Redis holds
/// names no session and opens none: reading Redis, or a backup of it, gives no access token without the cookie. Values
/// expire with the session (or launch) they hold; a value that does not open (altered, or sealed for another key) reads
/// as no session. Redis not answering is <see cref="SmartProblemKind.SessionStoreUnavailable"/> (a plain 503 page).
/// </para>
/// </summary>
public sealed class RedisSmartSessionStore(RedisConnection redis, TimeProvider time) : ISmartSessionStore
{
    private const string SessionKind = "smart-session";
    private const string LaunchKind = "smart-launch";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    public ValueTask AddLaunchAsync(PendingLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        return WriteAsync(LaunchKind, launch.State, launch, launch.Expires);
    }

    public async ValueTask<PendingLaunch?> TakeLaunchAsync(string state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var key = redis.Key(LaunchKind, state);
        // GETDEL: of two callbacks with the same state, on one instance or two, exactly one gets the launch.
        var sealedValue = await RunAsync(() => redis.Database.StringGetDeleteAsync(key));
        var launch = Open<PendingLaunch>(sealedValue, LaunchKind, state, key);
        return launch is not null && launch.Expires > time.GetUtcNow() ? launch : null;
    }

    public ValueTask SaveSessionAsync(SmartSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return WriteAsync(SessionKind, session.Id, session, session.SessionExpires);
    }

    public async ValueTask<SmartSession?> FindSessionAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var key = redis.Key(SessionKind, id);
        var session = Open<SmartSession>(await RunAsync(() => redis.Database.StringGetAsync(key)), SessionKind, id, key);
        // The id inside must be the id asked for (the seal binds it already; this keeps the contract explicit).
        return session is not null && session.Id == id && session.SessionExpires > time.GetUtcNow() ? session : null;
    }

    public async ValueTask RemoveSessionAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var key = redis.Key(SessionKind, id);
        await RunAsync(() => redis.Database.KeyDeleteAsync(key));
    }

    private async ValueTask WriteAsync<T>(string kind, string secret, T value, DateTimeOffset expires)
    {
        var ttl = expires - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var key = redis.Key(kind, secret);
        var sealedValue = Seal(JsonSerializer.SerializeToUtf8Bytes(value), kind, secret, key);
        await RunAsync(() => redis.Database.StringSetAsync(key, sealedValue, ttl));
    }

    private static async Task<T> RunAsync<T>(Func<Task<T>> command)
    {
        try
        {
            return await command();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            throw new SmartProblemException(SmartProblemKind.SessionStoreUnavailable,
                "The app's session store did not answer, so the sign-in could not be kept or read.", ex);
        }
    }

    private static byte[] Seal(byte[] plaintext, string kind, string secret, RedisKey key)
    {
        var output = new byte[NonceBytes + plaintext.Length + TagBytes];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = Cipher(kind, secret);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceBytes, plaintext.Length), output.AsSpan(NonceBytes + plaintext.Length, TagBytes), AssociatedData(key));
        return output;
    }

    private static T? Open<T>(RedisValue sealedValue, string kind, string secret, RedisKey key)
        where T : class
    {
        if (sealedValue.IsNullOrEmpty)
        {
            return null;
        }

        var bytes = (byte[])sealedValue!;
        if (bytes.Length < NonceBytes + TagBytes)
        {
            return null;
        }

        var plaintext = new byte[bytes.Length - NonceBytes - TagBytes];
        try
        {
            using var aes = Cipher(kind, secret);
            aes.Decrypt(bytes.AsSpan(0, NonceBytes), bytes.AsSpan(NonceBytes, plaintext.Length), bytes.AsSpan(NonceBytes + plaintext.Length, TagBytes),
                plaintext, AssociatedData(key));
            return JsonSerializer.Deserialize<T>(plaintext);
        }
        catch (Exception ex) when (ex is AuthenticationTagMismatchException or JsonException)
        {
            return null;
        }
    }

    /// <summary>AES-256-GCM under a key derived (HKDF-SHA256) from the secret the value is found by, one per kind.</summary>
    private static AesGcm Cipher(string kind, string secret) =>
        new(HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, salt: [], info: Encoding.UTF8.GetBytes($"ketaminecds {kind} v1")), TagBytes);

    /// <summary>The Redis key the value is stored under, bound into the seal: a value moved to another key does not open.</summary>
    private static byte[] AssociatedData(RedisKey key) => Encoding.UTF8.GetBytes(key.ToString());
}
