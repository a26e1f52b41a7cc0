"""Assignment 07: a shortcut without projection, a grouped convolution counted as a full one, a ReLU6 after the
projection, and layer costs that ignore the groups."""

WRONG_ANSWERS = {
    'preact': """class PreActBlock(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.shortcut = None

    def forward(self, x):
        a = F.relu(self.bn1(x))
        return self.conv2(F.relu(self.bn2(self.conv1(a)))) + x


def preact_block_params(c_in, c_out, stride=1):
    extra = c_in * c_out if stride != 1 or c_in != c_out else 0
    return 2 * c_in + 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + extra
""",
    'bottleneck': """class Bottleneck(nn.Module):
    def __init__(self, c_in, width, stride=1, expansion=2, groups=1):
        super().__init__()
        c_out = expansion * width
        self.conv1, self.bn1 = nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(self.bn3(self.conv3(h)) + self.shortcut(x))


def bottleneck_params(c_in, width, stride=1, expansion=2, groups=1):
    c_out = expansion * width
    total = c_in * width + 2 * width + 9 * width * width + 2 * width + width * c_out + 2 * c_out
    if stride != 1 or c_in != c_out:
        total += c_in * c_out + 2 * c_out
    return total
""",
    'inverted': """class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride=1, expand_ratio=6):
        super().__init__()
        hidden = c_in * expand_ratio
        self.expand = None
        if expand_ratio != 1:
            self.expand = nn.Sequential(nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        self.depthwise = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                       nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU6())
        self.keep = stride == 1 and c_in == c_out

    def forward(self, x):
        h = self.project(self.depthwise(x if self.expand is None else self.expand(x)))
        return h + x if self.keep else h


def inverted_residual_params(c_in, c_out, stride=1, expand_ratio=6):
    hidden = c_in * expand_ratio
    expand = c_in * hidden + 2 * hidden if expand_ratio != 1 else 0
    return expand + 11 * hidden + hidden * c_out + 2 * c_out
""",
    'costs': """def layer_costs(model, input_size):
    costs = {}
    def record(name):
        def hook(layer, inputs, output):
            if isinstance(layer, nn.Conv2d):
                fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
            else:
                fan_in = layer.in_features
            params, macs = costs.get(name, (n_params(layer), 0))
            costs[name] = (params, macs + output.numel() * fan_in)
        return hook
    handles = [m.register_forward_hook(record(n)) for n, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_size))
    finally:
        for h in handles:
            h.remove()
    return costs
""",
}
# What the judge's feedback must name for each of them (test cell grade id -> the mistake it reports).
MISTAKES = {
    "test_preact": "the shortcut has no projection when the shape changes (a stride or a change of channels)",
    "test_bottleneck": ("the grouped 3×3 convolution is counted as if it were not grouped "
                        "(9·width² instead of 9·width²/groups)"),
    "test_inverted": "an activation follows the projection (the bottleneck must stay linear)",
    "test_costs": "the groups of a convolution are ignored (a depthwise convolution counted like a full one)",
}
