using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;

namespace KetamineCds.Fhir.Validation;

/// <summary>
/// What the validator needs from the core specification, prepared ahead of time (docs/performance.md, "Memory and
/// start-up"): the snapshots of our profiles, the core definitions that validating our examples and the Observation
/// shapes EHRs send resolves (about 60 of the specification's 8,000 resources), and the list of every canonical URL
/// and resource URI the specification holds. Indexing the 50 MB of specification XML and generating the snapshots
/// took most of start-up; reading this file takes a fraction of a second.
/// </summary>
/// <remarks>
/// Generated from specification.zip by <see cref="DefinitionCacheGenerator"/>; a test regenerates it and fails when
/// the committed file differs (a changed profile, a new SDK version). It is used only when it was made by the Firely
/// SDK version running and for the exact profile JSON loaded; otherwise the validator generates snapshots and reads
/// the full specification as before.
/// </remarks>
internal sealed class DefinitionCache
{
    internal const string ResourceName = "validation/core-definitions.json";

    private DefinitionCache(string sdkVersion, IReadOnlyDictionary<string, CachedProfile> profiles, FrozenDictionary<string, string> core,
        FrozenSet<string> specificationCanonicals, FrozenSet<string> specificationUris)
    {
        SdkVersion = sdkVersion;
        Profiles = profiles;
        Core = core;
        SpecificationCanonicals = specificationCanonicals;
        SpecificationUris = specificationUris;
    }

    /// <summary>The Firely SDK (Hl7.Fhir.R4) version that generated the snapshots and whose specification.zip was read.</summary>
    public string SdkVersion { get; }

    /// <summary>Our profiles by canonical URL: the SHA-256 of the authored JSON and the generated StructureDefinition.</summary>
    public IReadOnlyDictionary<string, CachedProfile> Profiles { get; }

    /// <summary>Core conformance resources as JSON, by canonical URL (no version): parsed only when asked for.</summary>
    public FrozenDictionary<string, string> Core { get; }

    /// <summary>Every canonical URL (no version) the full specification defines: a URL not here is not in it either.</summary>
    public FrozenSet<string> SpecificationCanonicals { get; }

    /// <summary>Every resource URI the full specification holds (ResolveByUri).</summary>
    public FrozenSet<string> SpecificationUris { get; }

    /// <summary>The version string a cache must carry to be used by this process.</summary>
    public static string RunningSdkVersion { get; } =
        typeof(StructureDefinition).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The SHA-256 of a JSON text, as hex: the cache key of a profile's snapshot, and of a validated Observation that carries no digest of its own bytes.</summary>
    public static string Hash(string json) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json)));

    /// <summary>The cache embedded in this assembly, or null when absent or made by another SDK version.</summary>
    public static DefinitionCache? LoadEmbedded()
    {
        using var stream = typeof(DefinitionCache).Assembly.GetManifestResourceStream(ResourceName);
        if (stream is null)
        {
            return null;
        }

        var cache = Parse(stream);
        return cache.SdkVersion == RunningSdkVersion ? cache : null;
    }

    public static DefinitionCache Parse(Stream utf8Json)
    {
        using var document = JsonDocument.Parse(utf8Json);
        var root = document.RootElement;
        var profiles = root.GetProperty("profiles").EnumerateArray().ToDictionary(
            p => p.GetProperty("url").GetString()!,
            p => new CachedProfile(p.GetProperty("sourceSha256").GetString()!, p.GetProperty("snapshot").GetRawText()),
            StringComparer.Ordinal);
        var core = root.GetProperty("core").EnumerateArray().ToFrozenDictionary(
            r => r.GetProperty("url").GetString()!, r => r.GetRawText(), StringComparer.Ordinal);
        return new DefinitionCache(
            root.GetProperty("fhirSdk").GetString()!,
            profiles,
            core,
            root.GetProperty("specificationCanonicals").EnumerateArray().Select(e => e.GetString()!).ToFrozenSet(StringComparer.Ordinal),
            root.GetProperty("specificationUris").EnumerateArray().Select(e => e.GetString()!).ToFrozenSet(StringComparer.Ordinal));
    }
}

/// <summary>One profile's generated StructureDefinition (with its snapshot), valid for the authored JSON of that hash.</summary>
internal sealed record CachedProfile(string SourceSha256, string StructureDefinitionJson);

/// <summary>
/// The core specification as the validator sees it: the prepared definitions first, the full specification opened
/// only when a definition it holds is asked for and is not among them. A URL the full specification does not define
/// gets the answer the full specification would give (nothing), without opening it: an EHR's own extension URL does
/// not cost seconds of indexing. Every answer is therefore the full specification's answer.
/// </summary>
internal sealed class CoreSubsetSource(DefinitionCache cache, Func<IAsyncResourceResolver> openFullSpecification) : IAsyncResourceResolver
{
    private readonly Lazy<IAsyncResourceResolver> _full = new(openFullSpecification, LazyThreadSafetyMode.ExecutionAndPublication);
    private int _fallbacks;

    /// <summary>How many lookups went to the full specification (each opens it on the first).</summary>
    public int Fallbacks => Volatile.Read(ref _fallbacks);

    /// <summary>Whether the full specification has been opened (indexed) in this process.</summary>
    public bool FullSpecificationOpened => _full.IsValueCreated;

    public async Task<Resource?> ResolveByCanonicalUriAsync(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var (url, version) = Split(uri);
        if (cache.Core.TryGetValue(url, out var json))
        {
            var resource = FhirJson.ReadStrict<Resource>(json);
            if (version is null || (resource is IVersionableConformanceResource versioned && versioned.Version == version))
            {
                return resource;
            }
        }

        if (!cache.SpecificationCanonicals.Contains(url))
        {
            return null;
        }

        Interlocked.Increment(ref _fallbacks);
        var result = await _full.Value.TryResolveByCanonicalUriAsync(uri).ConfigureAwait(false);
        return result.Success ? result.Value : null;
    }

    public async Task<Resource?> ResolveByUriAsync(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!cache.SpecificationUris.Contains(uri))
        {
            return null;
        }

        Interlocked.Increment(ref _fallbacks);
        var result = await _full.Value.TryResolveByUriAsync(uri).ConfigureAwait(false);
        return result.Success ? result.Value : null;
    }

    private static (string Url, string? Version) Split(string uri)
    {
        var fragment = uri.IndexOf('#', StringComparison.Ordinal);
        var bar = uri.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0 || (fragment >= 0 && fragment < bar))
        {
            return (uri, null);
        }

        return (uri[..bar], uri[(bar + 1)..]);
    }
}

/// <summary>Records every canonical URL and URI the core specification answered, to know which definitions to prepare.</summary>
internal sealed class RecordingResolver(IAsyncResourceResolver inner) : IAsyncResourceResolver
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _resolved = new(StringComparer.Ordinal);

    /// <summary>Every conformance resource served, by canonical URL (no version), as JSON written when it was served:
    /// the terminology service later adds an expansion (with a time stamp) to the ValueSets it is given.</summary>
    public IReadOnlyDictionary<string, string> Resolved => _resolved;

    public async Task<Resource?> ResolveByCanonicalUriAsync(string uri)
    {
        var result = await inner.TryResolveByCanonicalUriAsync(uri).ConfigureAwait(false);
        return Record(result);
    }

    public async Task<Resource?> ResolveByUriAsync(string uri)
    {
        var result = await inner.TryResolveByUriAsync(uri).ConfigureAwait(false);
        return Record(result);
    }

    private Resource? Record(ResolverResult result)
    {
        if (!result.Success)
        {
            return null;
        }

        if (result.Value is IConformanceResource { Url: { } url })
        {
            _resolved.TryAdd(url, FhirJson.Serialize(result.Value));
        }

        return result.Value;
    }
}
