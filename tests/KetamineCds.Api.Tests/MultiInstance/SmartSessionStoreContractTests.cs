using System.Text;
using KetamineCds.Api.Security;
using KetamineCds.SmartApp;
using KetamineCds.SmartApp.Launch;
using KetamineCds.SmartApp.Session;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace KetamineCds.Api.Tests.MultiInstance;

/// <summary>
/// One contract for the SMART app's launch and session store, run against the in-memory default and a real Redis: a
/// launch is taken once (also by fifty callbacks at once), a session is found until it ends or is removed, and what one
/// instance stores the other finds (for Redis: two connections, as two processes have).
/// </summary>
public abstract class SmartSessionStoreContract
{
    /// <summary>Two stores over one shared state, as two instances behind a load balancer see it.</summary>
    protected abstract (ISmartSessionStore First, ISmartSessionStore Second) CreateStores();

    /// <summary>A state or session id as the app mints them (SmartAppEndpoints: 32 random bytes, base64url).</summary>
    internal static string NewSecret() => Duende.IdentityModel.CryptoRandom.CreateUniqueId(32, Duende.IdentityModel.CryptoRandom.OutputFormat.Base64Url);

    protected static PendingLaunch Launch(string state, TimeSpan lifetime) => new(
        state, NewSecret(), "test-ehr", new Uri("https://ehr.example/fhir"), "https://ehr.example/token", "verifier-" + NewSecret(),
        "https://app.example/app/callback", "launch openid patient/Observation.rs", Standalone: false, AppContext: "lamotrigine-concurrent",
        DateTimeOffset.UtcNow + lifetime);

    protected static SmartSession Session(string id, TimeSpan lifetime, string accessToken = "access-token-secret-1", string refreshToken = "refresh-token-secret-1") => new(
        id, "test-ehr", new Uri("https://ehr.example/fhir"), "https://ehr.example/token", accessToken, refreshToken, "patient-4711",
        "launch openid patient/Observation.rs", "benzodiazepine-threshold", DateTimeOffset.UtcNow.AddMinutes(5), DateTimeOffset.UtcNow + lifetime);

    [Fact]
    public async Task A_launch_started_on_one_instance_is_taken_once_on_the_other()
    {
        var (first, second) = CreateStores();
        var launch = Launch(NewSecret(), TimeSpan.FromMinutes(5));

        await first.AddLaunchAsync(launch, CancellationToken.None);
        var taken = await second.TakeLaunchAsync(launch.State, CancellationToken.None);

        Assert.Equal(launch, taken);
        Assert.Null(await first.TakeLaunchAsync(launch.State, CancellationToken.None));
        Assert.Null(await second.TakeLaunchAsync(launch.State, CancellationToken.None));
    }

    [Fact]
    public async Task Of_fifty_concurrent_callbacks_with_one_state_exactly_one_gets_the_launch()
    {
        var (first, second) = CreateStores();
        var launch = Launch(NewSecret(), TimeSpan.FromMinutes(5));
        await first.AddLaunchAsync(launch, CancellationToken.None);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(async () => await (i % 2 == 0 ? first : second).TakeLaunchAsync(launch.State, CancellationToken.None))));

        Assert.Single(results, r => r is not null);
    }

    [Fact]
    public async Task An_expired_launch_is_not_taken()
    {
        var (first, second) = CreateStores();
        var launch = Launch(NewSecret(), TimeSpan.FromMilliseconds(300));

        await first.AddLaunchAsync(launch, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(600));

        Assert.Null(await second.TakeLaunchAsync(launch.State, CancellationToken.None));
    }

    [Fact]
    public async Task A_session_saved_on_one_instance_is_found_renewed_and_removed_on_the_other()
    {
        var (first, second) = CreateStores();
        var session = Session(NewSecret(), TimeSpan.FromMinutes(30));

        await first.SaveSessionAsync(session, CancellationToken.None);
        Assert.Equal(session, await second.FindSessionAsync(session.Id, CancellationToken.None));

        var renewed = session with { AccessToken = "access-token-secret-2", TokenExpires = DateTimeOffset.UtcNow.AddMinutes(10) };
        await second.SaveSessionAsync(renewed, CancellationToken.None);
        Assert.Equal(renewed, await first.FindSessionAsync(session.Id, CancellationToken.None));

        await first.RemoveSessionAsync(session.Id, CancellationToken.None);
        Assert.Null(await second.FindSessionAsync(session.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_session_past_its_end_and_an_unknown_id_are_not_found()
    {
        var (first, second) = CreateStores();
        var ending = Session(NewSecret(), TimeSpan.FromMilliseconds(300));

        await first.SaveSessionAsync(ending, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(600));

        Assert.Null(await second.FindSessionAsync(ending.Id, CancellationToken.None));
        Assert.Null(await second.FindSessionAsync(NewSecret(), CancellationToken.None));
    }
}

public sealed class InMemorySmartSessionStoreTests : SmartSessionStoreContract
{
    protected override (ISmartSessionStore First, ISmartSessionStore Second) CreateStores()
    {
        // One process: one store serves every request.
        var store = new InMemorySmartSessionStore(Options.Create(new SmartAppOptions()), TimeProvider.System);
        return (store, store);
    }
}

[Collection(RedisCollection.Name)]
public sealed class RedisSmartSessionStoreTests(RedisServer redis) : SmartSessionStoreContract, IDisposable
{
    private readonly List<RedisConnection> connections = [];
    private string prefix = $"test-{Guid.NewGuid():N}:";

    protected override (ISmartSessionStore First, ISmartSessionStore Second) CreateStores()
    {
        prefix = $"test-{Guid.NewGuid():N}:";
        return (new RedisSmartSessionStore(Connect(prefix), TimeProvider.System), new RedisSmartSessionStore(Connect(prefix), TimeProvider.System));
    }

    [Fact]
    public async Task Redis_holds_neither_the_tokens_nor_the_session_id_nor_the_patient_in_the_clear()
    {
        var (store, _) = CreateStores();
        var session = Session(NewSecret(), TimeSpan.FromMinutes(30));
        var launch = Launch(NewSecret(), TimeSpan.FromMinutes(5));
        await store.SaveSessionAsync(session, CancellationToken.None);
        await store.AddLaunchAsync(launch, CancellationToken.None);

        var raw = Connect(prefix);
        var server = raw.Database.Multiplexer.GetServer(raw.Database.Multiplexer.GetEndPoints()[0]);
        var keys = server.Keys(pattern: prefix + "*").ToList();
        Assert.Equal(2, keys.Count);
        foreach (var key in keys)
        {
            var text = key.ToString() + Encoding.Latin1.GetString((byte[])(await raw.Database.StringGetAsync(key))!);
            foreach (var secret in new[] { session.Id, session.AccessToken, session.RefreshToken!, session.PatientId, launch.State, launch.CodeVerifier, launch.BrowserBinding })
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }

            Assert.True(await raw.Database.KeyTimeToLiveAsync(key) is { } ttl && ttl > TimeSpan.Zero && ttl <= TimeSpan.FromMinutes(30), $"{key} has no expiry");
        }
    }

    [Fact]
    public async Task A_value_altered_in_Redis_reads_as_no_session()
    {
        var (store, other) = CreateStores();
        var session = Session(NewSecret(), TimeSpan.FromMinutes(30));
        await store.SaveSessionAsync(session, CancellationToken.None);
        var raw = Connect(prefix);
        var key = raw.Key("smart-session", session.Id);
        var bytes = (byte[])(await raw.Database.StringGetAsync(key))!;
        bytes[^1] ^= 0x01;
        await raw.Database.StringSetAsync(key, bytes);

        Assert.Null(await other.FindSessionAsync(session.Id, CancellationToken.None));

        // Another session's value copied under this session's key does not open either (the seal is bound to the id).
        var second = Session(NewSecret(), TimeSpan.FromMinutes(30), accessToken: "access-token-of-someone-else");
        await store.SaveSessionAsync(second, CancellationToken.None);
        await raw.Database.StringSetAsync(key, await raw.Database.StringGetAsync(raw.Key("smart-session", second.Id)));
        Assert.Null(await other.FindSessionAsync(session.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Redis_that_cannot_be_reached_is_a_session_store_problem_not_an_exception_of_its_own()
    {
        using var unreachable = RedisServer.Unreachable();
        var store = new RedisSmartSessionStore(unreachable, TimeProvider.System);

        var problem = await Assert.ThrowsAsync<SmartProblemException>(async () => await store.FindSessionAsync(NewSecret(), CancellationToken.None));
        Assert.Equal(SmartProblemKind.SessionStoreUnavailable, problem.Kind);
        problem = await Assert.ThrowsAsync<SmartProblemException>(async () =>
            await store.AddLaunchAsync(Launch(NewSecret(), TimeSpan.FromMinutes(5)), CancellationToken.None));
        Assert.Equal(SmartProblemKind.SessionStoreUnavailable, problem.Kind);
    }

    private RedisConnection Connect(string keyPrefix)
    {
        var connection = redis.Connect(keyPrefix);
        connections.Add(connection);
        return connection;
    }

    public void Dispose()
    {
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }
}
