"""Pictures and videos of agents: composed frames with heat maps, MP4 writing, recorded
games, the explainers a video can show, image files and charts."""
