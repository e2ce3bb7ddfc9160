using KetamineCds.Review.Cli;

return await ReviewCommand.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
