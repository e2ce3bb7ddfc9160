namespace KetamineCds.SmartApp.Tests.Infrastructure;

/// <summary>Locates the repository from the test binaries (the servers and seeds are used in place, not copied).</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Servers => Path.Combine(Root, "tests", "servers");

    /// <summary>The committed NDJSON seed of the test FHIR server (see tests/servers/seed/README.md).</summary>
    public static string SeedFile => Path.Combine(Servers, "seed", "table2.ndjson");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KetamineCds.sln")) && Directory.Exists(Path.Combine(dir.FullName, "tests", "servers")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Could not find the repository root (KetamineCds.sln) above {AppContext.BaseDirectory}");
    }
}
