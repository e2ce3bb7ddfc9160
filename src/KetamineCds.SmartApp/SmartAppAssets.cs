namespace KetamineCds.SmartApp;

/// <summary>The app's static assets, embedded in the assembly (no CDN at run time, no wwwroot to deploy).</summary>
internal static class SmartAppAssets
{
    public static string Stylesheet { get; } = Read("KetamineCds.SmartApp.app.css");

    private static string Read(string name)
    {
        using var stream = typeof(SmartAppAssets).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded asset {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
